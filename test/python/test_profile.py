"""Profiles: run(..., profile="trace.json") and kiln-run --profile write a
Chrome trace with one event per run and per kernel of each run, and print
the kernels by time against the machine's peak."""
import json
import os
import subprocess

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import kiln

from conftest import EXAMPLES, ROOT

TINY_CNN = os.path.join(EXAMPLES, "tiny_cnn.onnxtxt")


def _kernel_events(trace):
    return [e for e in trace["traceEvents"] if e.get("ph") == "X" and e.get("cat") != "run"]


def _run_events(trace):
    return [e for e in trace["traceEvents"] if e.get("cat") == "run"]


def _mlp_with_attention_model(rng):
    """A block with matmuls, a softmax, layer norm and GELU: several kernel
    kinds, including runtime GEMM calls and fused attention."""
    d, s, h = 32, 16, 4
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, s, d])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, s, d])
    inits = [numpy_helper.from_array(rng.standard_normal((d, d)).astype(np.float32) * 0.2, n)
             for n in ("wq", "wk", "wv", "wo")]
    inits += [numpy_helper.from_array(np.array(v, dtype=np.int64), n) for n, v in (
        ("heads", [1, s, h, d // h]), ("back", [1, s, d]))]
    inits.append(numpy_helper.from_array(np.array(1 / np.sqrt(d // h), np.float32), "scale"))
    inits.append(numpy_helper.from_array(np.ones(d, np.float32), "gamma"))
    nodes = [helper.make_node("MatMul", ["x", w], [w + "_o"], name=w) for w in ("wq", "wk", "wv")]
    for w in ("wq", "wk", "wv"):
        nodes.append(helper.make_node("Reshape", [w + "_o", "heads"], [w + "_r"]))
        perm = [0, 2, 3, 1] if w == "wk" else [0, 2, 1, 3]
        nodes.append(helper.make_node("Transpose", [w + "_r"], [w + "_t"], perm=perm))
    nodes += [
        helper.make_node("MatMul", ["wq_t", "wk_t"], ["scores"], name="qk"),
        helper.make_node("Mul", ["scores", "scale"], ["scaled"]),
        helper.make_node("Softmax", ["scaled"], ["probs"], axis=-1),
        helper.make_node("MatMul", ["probs", "wv_t"], ["ctx"], name="pv"),
        helper.make_node("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["ctx_t", "back"], ["ctx_r"]),
        helper.make_node("MatMul", ["ctx_r", "wo"], ["proj"], name="out_proj"),
        helper.make_node("Add", ["proj", "x"], ["res"]),
        helper.make_node("LayerNormalization", ["res", "gamma"], ["norm"], axis=-1),
        helper.make_node("Gelu", ["norm"], ["y"], domain=""),
    ]
    graph = helper.make_graph(nodes, "block", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], ir_version=10)


@pytest.mark.parametrize("source", ["tiny_cnn", "block"])
def test_trace_has_one_event_per_kernel_and_run(tmp_path, capsys, source):
    rng = np.random.default_rng(0)
    if source == "tiny_cnn":
        model = kiln.compile(TINY_CNN)
        feeds = {"image": rng.random((1, 3, 32, 32), dtype=np.float32)}
    else:
        model = kiln.compile(_mlp_with_attention_model(rng))
        feeds = {"x": rng.standard_normal((1, 16, 32)).astype(np.float32)}
    kernels = model.fusion_report()["kernels"]
    assert len(kernels) >= 2
    want = model.run(None, feeds)
    trace_path = tmp_path / "trace.json"
    runs = 3
    got = model.run(None, feeds, profile=str(trace_path), profile_runs=runs)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)

    trace = json.loads(trace_path.read_text())
    run_events = _run_events(trace)
    assert len(run_events) == runs
    events = _kernel_events(trace)
    by_name = {}
    for e in events:
        by_name.setdefault(e["args"]["kernel"], []).append(e)
    # Every kernel of the partition, once per run, with its FLOPs and bytes.
    assert sorted(by_name) == list(range(len(kernels)))
    for index, k in enumerate(kernels):
        evs = by_name[index]
        assert len(evs) == runs, (k["name"], len(evs))
        for e in evs:
            assert e["name"] == f"{k['name']} {k['kind']}"
            assert e["args"]["flops"] == k["flops"]
            assert e["args"]["bytes"] == k["bytes"]
            assert e["dur"] >= 0
    # Kernel events lie inside a run and do not overlap each other.
    spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in events)
    for (a0, a1), (b0, _) in zip(spans, spans[1:]):
        assert a1 <= b0 + 1e-3
    for e in events:
        assert any(r["ts"] - 1e-3 <= e["ts"] and e["ts"] + e["dur"] <= r["ts"] + r["dur"] + 1e-3
                   for r in run_events)

    printed = capsys.readouterr().out
    assert printed == model.last_profile
    assert f"{runs} run(s)" in printed and "GFLOP/s" in printed and "peak:" in printed
    for k in kernels[:20]:
        assert f"  {k['name']} " in printed


def test_saved_library_profiles_with_kernel_names(tmp_path, capsys):
    model = kiln.compile(TINY_CNN)
    names = [k["name"] for k in model.fusion_report()["kernels"]]
    lib = tmp_path / "tiny_cnn.so"
    model.save(lib)
    loaded = kiln.load(lib)
    x = np.random.default_rng(1).random((1, 3, 32, 32), dtype=np.float32)
    loaded.run(None, {"image": x}, profile=str(tmp_path / "t.json"), profile_runs=2)
    trace = json.loads((tmp_path / "t.json").read_text())
    assert sorted({e["name"].split()[0] for e in _kernel_events(trace)}) == sorted(names)
    assert loaded.last_profile and "tiny_cnn" in loaded.last_profile


def test_summary_without_trace_and_bad_arguments(tmp_path, capsys):
    model = kiln.compile(TINY_CNN)
    x = np.zeros((1, 3, 32, 32), np.float32)
    model.run(None, {"image": x}, profile="", profile_runs=1)
    assert "kiln profile of tiny_cnn: 1 run(s)" in capsys.readouterr().out
    bad = tmp_path / "no_such_folder" / "trace.json"
    with pytest.raises(kiln.RuntimeError, match="no_such_folder"):
        model.run(None, {"image": x}, profile=str(bad))
    with pytest.raises(ValueError, match="profile_runs"):
        model.run(None, {"image": x}, profile="", profile_runs=0)


def test_emulated_gpu_model_profiles_whole_runs(capsys):
    model = kiln.compile(TINY_CNN, target="cuda", emulate=True)
    x = np.zeros((1, 3, 32, 32), np.float32)
    model.run(None, {"image": x}, profile="", profile_runs=2)
    out = capsys.readouterr().out
    assert "2 run(s)" in out and "no per-kernel timing" in out


def test_kiln_run_profile(tmp_path):
    kiln_run = os.path.join(os.environ.get("KILN_BUILD", os.path.join(ROOT, "build")),
                            "bin", "kiln-run")
    trace_path = tmp_path / "trace.json"
    p = subprocess.run([kiln_run, TINY_CNN, "--random-inputs", "--profile", str(trace_path),
                        "--profile-runs", "4"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "kiln profile of tiny_cnn: 4 run(s)" in p.stdout
    assert f"trace written to {trace_path}" in p.stdout
    trace = json.loads(trace_path.read_text())
    assert len(_run_events(trace)) == 4
    kernels = {e["args"]["kernel"] for e in _kernel_events(trace)}
    assert len(_kernel_events(trace)) == 4 * len(kernels)
    bad = subprocess.run([kiln_run, TINY_CNN, "--random-inputs", "--profile",
                          str(tmp_path / "missing" / "t.json")],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "cannot write the profile trace" in bad.stderr


def test_cuda_model_profiles_every_launch_on_a_stand_in_driver(tmp_path):
    """A CUDA model times each launch between CUDA events: on the stand-in
    driver (test/Runtime/fake_libcuda.c, every event pair 0.5 ms apart) the
    trace has one event per launch of each run, named by GPU kernel."""
    import sys
    from conftest import build_fake_driver
    fake = build_fake_driver(tmp_path / "fake_libcuda.so")
    trace = tmp_path / "gpu.json"
    script = f"""
import json, numpy as np, kiln
m = kiln.compile({TINY_CNN!r}, target="cuda")
x = np.zeros((1, 3, 32, 32), np.float32)
m.run(None, {{"image": x}}, profile={str(trace)!r}, profile_runs=2)
t = json.load(open({str(trace)!r}))
runs = [e for e in t["traceEvents"] if e.get("cat") == "run"]
launches = [e for e in t["traceEvents"] if e.get("cat") == "gpu"]
assert len(runs) == 2, runs
assert launches and len(launches) % 2 == 0, launches
assert all(e["name"].startswith("main_kernel") and abs(e["dur"] - 500) < 1 for e in launches), launches
assert ": 2 run(s)" in m.last_profile and "6 kernels timed" in m.last_profile, m.last_profile
assert "main_kernel" in m.last_profile and "gpu" in m.last_profile, m.last_profile
print("ok", len(launches) // 2)
"""
    env = dict(os.environ, KILN_CUDA_DRIVER=str(fake))
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                       timeout=600)
    assert p.returncode == 0 and "ok" in p.stdout, p.stdout + p.stderr
