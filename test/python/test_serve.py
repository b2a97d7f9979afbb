"""kiln.serve: a Kiln model served by Triton Inference Server through
PyTriton. Planning (batch dim, buckets), the padded batch runner and the
command line's errors are checked here directly; the server tests start
`python -m kiln.serve` on free loopback ports, send requests from four
concurrent tritonclient HTTP clients and compare every answer with a
direct Kiln run, check that bad requests get Triton errors while serving
goes on, the health, metrics and config endpoints, and a clean SIGTERM
shutdown (the process and its Triton children gone), plus the in-process
KilnServer API (its threads gone after stop).

The server runs in a Python with PyTriton and numpy < 2 (PyTriton 0.7's
Triton Python backend stub needs it): $KILN_SERVE_PYTHON, else
.venv-serve/bin/python (made from requirements/serve.txt, see
docs/serving.md), else this Python if it qualifies; the server tests skip
without one, and without tritonclient here.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import kiln

serve = pytest.importorskip("kiln.serve", reason="kiln.serve is not in this build of the "
                            "package (rebuild it, or copy python/kiln/serve.py next to it)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The folder holding the kiln package this test imports: the server
# subprocesses import the same one.
KILN_PATH = os.path.dirname(os.path.dirname(os.path.abspath(kiln.__file__)))
IN_DIM, OUT_DIM = 16, 8
MAX_BATCH = 8
SERVER_START_S = 90
HOST = "127.0.0.1"


def mlp_model(batch="batch", seed=0):
    """y = relu(x @ W + B), x [batch, 16] -> y [batch, 8]."""
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(rng.standard_normal((IN_DIM, OUT_DIM)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal((OUT_DIM,)).astype(np.float32), "B")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]),
         helper.make_node("Add", ["h", "B"], ["a"]),
         helper.make_node("Relu", ["a"], ["y"])],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, IN_DIM])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, OUT_DIM])],
        initializer=[w, b])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("serve") / "mlp.onnx"
    path.write_bytes(mlp_model().SerializeToString())
    return str(path)


def free_ports(n):
    """n distinct loopback ports free right now (held together while
    picked, so that they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def serve_python():
    """(python, None) for a Python that can run the server, else (None, why)."""
    candidates = [os.environ.get("KILN_SERVE_PYTHON"),
                  os.path.join(ROOT, ".venv-serve", "bin", "python"), sys.executable]
    why = []
    probe = ("import sys, numpy, pytriton; "
             "sys.exit(3 if int(numpy.__version__.split('.')[0]) >= 2 else 0)")
    for py in candidates:
        if not py or not os.path.exists(py):
            continue
        try:
            rc = subprocess.run([py, "-c", probe], capture_output=True, timeout=60).returncode
        except subprocess.TimeoutExpired:
            rc = -1
        if rc == 0:
            return py, None
        why.append(f"{py}: " + ("numpy >= 2" if rc == 3 else "no pytriton"))
    return None, ("no Python with PyTriton and numpy < 2 to run the server (" +
                  "; ".join(why) + "); make .venv-serve from requirements/serve.txt or set "
                  "KILN_SERVE_PYTHON (docs/serving.md)")


def server_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = KILN_PATH
    env.setdefault("KILN_NUM_THREADS", "1")
    return env


def descendants(pid):
    """The pids of every process below `pid`."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def running(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------- no server


def test_plan_batches_a_symbolic_batch_dim(model_path):
    plan = serve.plan_model(kiln.compile(model_path), max_batch=MAX_BATCH)
    assert plan.batching and plan.max_batch == MAX_BATCH
    assert plan.buckets == [1, 2, 4, 8]
    assert [(t.name, t.dims) for t in plan.inputs] == [("x", (IN_DIM,))]
    assert [(t.name, t.dims) for t in plan.outputs] == [("y", (OUT_DIM,))]
    assert plan.inputs[0].dtype == np.float32
    assert serve.batch_buckets(6) == [1, 2, 4, 6]
    assert [plan.bucket(n) for n in range(1, 9)] == [1, 2, 4, 4, 8, 8, 8, 8]


def test_plan_fixed_batch_serves_unbatched():
    plan = serve.plan_model(kiln.compile(mlp_model(batch=4)), max_batch=MAX_BATCH)
    assert not plan.batching and plan.max_batch == 0 and plan.buckets == []
    assert plan.inputs[0].dims == (4, IN_DIM)
    assert "fixed" in plan.note and "without batching" in plan.note


def test_runner_pads_to_buckets_and_splits(model_path):
    model = kiln.compile(model_path)
    runner = serve.KilnInfer(serve.plan_model(model, max_batch=MAX_BATCH))
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((n, IN_DIM)).astype(np.float32) for n in (3, 2)]
    outs = runner([{"x": x} for x in xs])
    assert runner.bucket_runs == {8: 1}  # 5 rows padded to the bucket of 8
    for x, out in zip(xs, outs):
        np.testing.assert_allclose(out["y"], model(x), rtol=1e-5, atol=1e-6)


def run_cli(args, timeout=120):
    p = subprocess.run([sys.executable, "-m", "kiln.serve", *args], capture_output=True,
                       text=True, timeout=timeout, env=server_env())
    return p.returncode, p.stderr.strip().splitlines()


@pytest.mark.parametrize("case", ["missing", "not-onnx", "port-range", "port-taken"])
def test_cli_bad_input_is_one_error_line(case, model_path, tmp_path):
    http, grpc, metrics = free_ports(3)
    ports = ["--http-port", str(http), "--grpc-port", str(grpc), "--metrics-port", str(metrics)]
    holder = None
    if case == "missing":
        args, expect = [str(tmp_path / "nothing.onnx"), *ports], "no model file"
    elif case == "not-onnx":
        bad = tmp_path / "bad.onnx"
        bad.write_bytes(b"this is not a protobuf")
        args, expect = [str(bad), *ports], "cannot compile"
    elif case == "port-range":
        args, expect = [model_path, *ports, "--http-port", "70000"], "1..65535"
    else:
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        holder.bind((HOST, 0))
        holder.listen(1)
        taken = holder.getsockname()[1]
        args, expect = [model_path, *ports, "--grpc-port", str(taken)], f"gRPC port {taken}"
    try:
        rc, err = run_cli(args)
    finally:
        if holder is not None:
            holder.close()
    assert rc != 0
    assert len(err) == 1 and err[0].startswith("kiln.serve: error:") and expect in err[0], err


# ------------------------------------------------------------------ server


@pytest.fixture(scope="module")
def server(model_path, tmp_path_factory):
    httpclient = pytest.importorskip("tritonclient.http",
                                     reason="tritonclient[http] is not installed")
    python, why = serve_python()
    if python is None:
        pytest.skip(why)
    http, grpc, metrics = free_ports(3)
    logdir = tmp_path_factory.mktemp("serve-logs")
    log_path = logdir / "kiln-serve.log"
    cmd = [python, "-m", "kiln.serve", model_path, "--name", "mlp",
           "--max-batch", str(MAX_BATCH), "--instances", "2", "--threads", "1",
           "--http-port", str(http), "--grpc-port", str(grpc), "--metrics-port", str(metrics),
           "--triton-log", str(logdir / "triton.log")]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=server_env())
    info = dict(proc=proc, http=f"{HOST}:{http}", grpc=f"{HOST}:{grpc}",
                metrics=f"http://{HOST}:{metrics}/metrics", log=log_path)

    def tail():
        return log_path.read_text()[-3000:]

    client = httpclient.InferenceServerClient(info["http"], connection_timeout=5,
                                              network_timeout=10)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"kiln.serve exited with {proc.returncode}:\n{tail()}")
            try:
                # Triton says ready before PyTriton has loaded the model: wait for both.
                if client.is_server_ready() and client.is_model_ready("mlp"):
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"kiln.serve not ready after {SERVER_START_S} s:\n{tail()}")
            time.sleep(0.25)
    finally:
        client.close()
    yield info
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def make_input(httpclient, x, datatype="FP32"):
    inp = httpclient.InferInput("x", list(x.shape), datatype)
    inp.set_data_from_numpy(x)
    return inp


def test_concurrent_clients_match_kiln(server, model_path):
    import tritonclient.http as httpclient

    clients, per_client = 4, 100
    deadline = time.monotonic() + 60
    results = [[] for _ in range(clients)]
    errors = []

    def work(k):
        rng = np.random.default_rng(100 + k)
        client = httpclient.InferenceServerClient(server["http"], connection_timeout=5,
                                                  network_timeout=30)
        try:
            for _ in range(per_client):
                if time.monotonic() > deadline:
                    errors.append(f"client {k}: out of time")
                    return
                n = int(rng.integers(1, MAX_BATCH + 1))
                x = rng.standard_normal((n, IN_DIM)).astype(np.float32)
                y = client.infer("mlp", [make_input(httpclient, x)]).as_numpy("y")
                results[k].append((x, y))
        except Exception as e:  # reported below, with the others
            errors.append(f"client {k}: {type(e).__name__}: {e}")
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert sum(len(r) for r in results) == clients * per_client
    reference = kiln.compile(model_path)
    for pairs in results:
        for x, y in pairs:
            assert y.shape == (x.shape[0], OUT_DIM) and y.dtype == np.float32
            np.testing.assert_allclose(y, reference(x), rtol=1e-5, atol=1e-6)


def test_bad_requests_get_errors_and_serving_goes_on(server, model_path):
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException

    client = httpclient.InferenceServerClient(server["http"], connection_timeout=5,
                                              network_timeout=30)
    try:
        bad = [
            make_input(httpclient, np.ones((2, IN_DIM + 1), np.float32)),  # wrong shape
            make_input(httpclient, np.ones((2, IN_DIM), np.float64), "FP64"),  # wrong dtype
            make_input(httpclient, np.ones((MAX_BATCH + 1, IN_DIM), np.float32)),  # too big
        ]
        for inp in bad:
            with pytest.raises(InferenceServerException):
                client.infer("mlp", [inp])
        x = np.random.default_rng(7).standard_normal((3, IN_DIM)).astype(np.float32)
        y = client.infer("mlp", [make_input(httpclient, x)]).as_numpy("y")
        np.testing.assert_allclose(y, kiln.compile(model_path)(x), rtol=1e-5, atol=1e-6)
    finally:
        client.close()


def test_health_metrics_and_config(server):
    import tritonclient.http as httpclient

    for path in ("/v2/health/live", "/v2/health/ready", "/v2/models/mlp/ready"):
        with urllib.request.urlopen(f"http://{server['http']}{path}", timeout=10) as r:
            assert r.status == 200, path
    with urllib.request.urlopen(server["metrics"], timeout=10) as r:
        assert r.status == 200
        metrics = r.read().decode()
    assert "nv_inference_request_success" in metrics
    client = httpclient.InferenceServerClient(server["http"], connection_timeout=5,
                                              network_timeout=10)
    try:
        assert client.is_server_live() and client.is_server_ready()
        config = client.get_model_config("mlp")
    finally:
        client.close()
    assert config["max_batch_size"] == MAX_BATCH
    assert config["dynamic_batching"]["preferred_batch_size"] == [2, 4, 8]
    assert sum(g["count"] for g in config["instance_group"]) == 2
    assert [i["dims"] for i in config["input"]] == [[IN_DIM]]
    # The gRPC endpoint accepts connections too.
    host, port = server["grpc"].rsplit(":", 1)
    socket.create_connection((host, int(port)), timeout=5).close()


def test_sigterm_stops_server_and_children(server):
    proc = server["proc"]
    below = descendants(proc.pid)
    assert below, "no tritonserver process below kiln.serve"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0, server["log"].read_text()[-3000:]
    deadline = time.monotonic() + 20
    while any(running(p) for p in below) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in below if running(p)]
    log = server["log"].read_text()
    assert "SIGTERM received" in log and "kiln.serve: stopped" in log and "Traceback" not in log


def test_in_process_server_stops_its_threads(model_path):
    pytest.importorskip("tritonclient.http", reason="tritonclient[http] is not installed")
    python, why = serve_python()
    if python is None:
        pytest.skip(why)
    http, grpc, metrics = free_ports(3)
    script = textwrap.dedent(f"""
        import json, threading, time
        import numpy as np
        import tritonclient.http as httpclient
        from kiln.serve import KilnServer
        before = {{t.ident for t in threading.enumerate()}}
        with KilnServer({model_path!r}, name="mlp", max_batch=4, http_port={http},
                        grpc_port={grpc}, metrics_port={metrics}, threads=1) as server:
            client = httpclient.InferenceServerClient(server.http_url)
            inp = httpclient.InferInput("x", [3, {IN_DIM}], "FP32")
            inp.set_data_from_numpy(np.ones((3, {IN_DIM}), np.float32))
            y = client.infer("mlp", [inp]).as_numpy("y")
            client.close()
            during = len(threading.enumerate())
            alive = server.is_alive()
        # PyTriton's reader of Triton's output may end just after stop() returns.
        deadline = time.monotonic() + 10
        while True:
            left = [t.name for t in threading.enumerate()
                    if t.ident not in before and t.is_alive()]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        print(json.dumps(dict(shape=list(y.shape), during=during, alive=alive, left=left,
                              after_stop=server.is_alive())))
    """)
    p = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=120,
                       env=server_env())
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result["shape"] == [3, OUT_DIM] and result["alive"]
    assert result["during"] > 1  # PyTriton's handler threads while serving
    assert result["left"] == [] and not result["after_stop"]
