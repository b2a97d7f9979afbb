#!/usr/bin/env python3
"""Throughput and latency of a Kiln model served by Triton (python -m
kiln.serve), measured with concurrent tritonclient HTTP clients.

Starts one server (dynamic batching up to --max-batch) on free loopback
ports and measures, for --seconds each:

  * batch 1, one client: sequential single-row requests (nothing to batch);
  * batch 1, --concurrency clients: single-row requests that Triton's
    dynamic batcher merges (Kiln runs them padded to the batch buckets).

With --compare-unbatched, a second server with --max-batch 0 gets the
concurrent load too. Each line gives requests/s, p50 and p99 latency (ms)
and the rows per model execution, read from Triton's metrics
(nv_inference_count / nv_inference_exec_count).

Triton's perf_analyzer is not used: PyPI's perf-analyzer is an empty
placeholder, and the binary that old tritonclient wheels carried needs
libcudart and libb64. The clients run in this process (threads, one
tritonclient per thread), so on a small machine they share the CPUs with
the server: read the numbers as the whole box's.

The model is an MLP built with onnx (--hidden, --layers) or --model PATH
(one float32 input [batch, ...]). The server runs in $KILN_SERVE_PYTHON,
else .venv-serve/bin/python (requirements/serve.txt), with Kiln from this
process's kiln package.

  PYTHONPATH=build/python .venv/bin/python bench/bench_serve.py
  PYTHONPATH=build/python .venv/bin/python bench/bench_serve.py --concurrency 32 \\
      --max-batch 32 --instances 2 --compare-unbatched
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"


def mlp(path, dim, layers, seed=0):
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits, prev = [], [], "x"
    for i in range(layers):
        w = (rng.standard_normal((dim, dim)) / np.sqrt(dim)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"),
                  numpy_helper.from_array(np.zeros(dim, np.float32), f"b{i}")]
        out = "y" if i == layers - 1 else f"r{i}"
        nodes += [helper.make_node("MatMul", [prev, f"w{i}"], [f"m{i}"]),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"]),
                  helper.make_node("Relu", [f"a{i}"], [out])]
        prev = out
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", dim])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", dim])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)],
                              ir_version=10)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def free_ports(n):
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind((HOST, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def serve_python():
    for py in (os.environ.get("KILN_SERVE_PYTHON"),
               os.path.join(ROOT, ".venv-serve", "bin", "python")):
        if py and os.path.exists(py):
            return py
    sys.exit("bench_serve: no serving Python: make .venv-serve from requirements/serve.txt "
             "or set KILN_SERVE_PYTHON (docs/serving.md)")


class Server:
    def __init__(self, python, model, name, args, max_batch, logdir):
        import kiln

        self.http, grpc, self.metrics_port = free_ports(3)
        self.name = name
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(kiln.__file__)))
        cmd = [python, "-m", "kiln.serve", model, "--name", name, "--max-batch", str(max_batch),
               "--instances", str(args.instances), "--http-port", str(self.http),
               "--grpc-port", str(grpc), "--metrics-port", str(self.metrics_port),
               "--queue-delay-us", str(args.queue_delay_us),
               "--triton-log", os.path.join(logdir, f"{name}.triton.log")]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        self.log = os.path.join(logdir, f"{name}.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        import tritonclient.http as httpclient

        client = httpclient.InferenceServerClient(self.url, connection_timeout=5)
        deadline = time.monotonic() + 120
        try:
            while True:
                if self.proc.poll() is not None:
                    sys.exit(f"bench_serve: server exited:\n{open(self.log).read()[-2000:]}")
                try:
                    if client.is_server_ready() and client.is_model_ready(name):
                        break
                except Exception:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    sys.exit("bench_serve: server not ready after 120 s")
                time.sleep(0.25)
        finally:
            client.close()

    @property
    def url(self):
        return f"{HOST}:{self.http}"

    def counts(self):
        """(inferences, executions) of the model from Triton's metrics."""
        url = f"http://{HOST}:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()

        def value(metric):
            m = re.search(rf'^{metric}{{model="{re.escape(self.name)}",version="1"}} (\S+)$',
                          text, re.M)
            return float(m.group(1)) if m else 0.0

        return value("nv_inference_count"), value("nv_inference_exec_count")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def load(server, shape, clients, seconds, max_requests):
    """Runs `clients` threads of sequential requests for `seconds`; returns
    (requests/s, latencies in ms, rows per execution)."""
    import tritonclient.http as httpclient

    latencies = [[] for _ in range(clients)]
    errors = []
    start_gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def work(k):
        client = httpclient.InferenceServerClient(server.url, connection_timeout=5,
                                                  network_timeout=60)
        x = np.random.default_rng(k).standard_normal(shape).astype(np.float32)
        inp = httpclient.InferInput("x", list(shape), "FP32")
        inp.set_data_from_numpy(x, binary_data=True)
        out = [httpclient.InferRequestedOutput("y", binary_data=True)]
        try:
            client.infer(server.name, [inp], outputs=out)  # connection warm-up
            start_gate.wait()
            mine = latencies[k]
            while time.perf_counter() < stop_at[0] and len(mine) < max_requests:
                t = time.perf_counter()
                client.infer(server.name, [inp], outputs=out)
                mine.append((time.perf_counter() - t) * 1e3)
        except Exception as e:
            errors.append(f"{type(e).__name__}: {e}")
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    before = server.counts()
    stop_at[0] = time.perf_counter() + seconds
    start_gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(seconds + 120)
    elapsed = time.perf_counter() - t0
    after = server.counts()
    if errors:
        sys.exit(f"bench_serve: requests failed: {errors[:3]}")
    lat = np.array([v for mine in latencies for v in mine])
    execs = after[1] - before[1]
    rows = (after[0] - before[0]) / execs if execs else float("nan")
    return len(lat) / elapsed, lat, rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="an ONNX model with one float32 input [batch, ...] "
                                   "(default: an MLP built here)")
    p.add_argument("--hidden", type=int, default=256, help="MLP width (default 256)")
    p.add_argument("--layers", type=int, default=3, help="MLP layers (default 3)")
    p.add_argument("--seconds", type=float, default=5, help="per measurement (default 5)")
    p.add_argument("--concurrency", type=int, default=16, help="clients (default 16)")
    p.add_argument("--max-batch", type=int, default=16, help="server's --max-batch (16)")
    p.add_argument("--instances", type=int, default=1, help="server's --instances (1)")
    p.add_argument("--threads", type=int, help="server's --threads (Kiln threads per run)")
    p.add_argument("--queue-delay-us", type=int, default=100, help="server's (100)")
    p.add_argument("--max-requests", type=int, default=200000,
                   help="cap on requests per client per measurement")
    p.add_argument("--compare-unbatched", action="store_true",
                   help="also load a --max-batch 0 server with the concurrent clients")
    p.add_argument("--json", help="write the results here as JSON")
    args = p.parse_args()

    python = serve_python()
    with tempfile.TemporaryDirectory(prefix="kiln-bench-serve-") as tmp:
        model = args.model
        if model is None:
            model = os.path.join(tmp, "mlp.onnx")
            mlp(model, args.hidden, args.layers)
            what = f"MLP {args.layers} x {args.hidden}"
            row_shape = (args.hidden,)
        else:
            import kiln

            info = kiln.compile(model).inputs[0]
            row_shape = tuple(d for d in info.shape[1:])
            if None in row_shape:
                sys.exit("bench_serve: the model's input has symbolic dims past the batch dim")
            what = os.path.basename(model)
        cases = [("batched", args.max_batch, 1, "batch 1, 1 client"),
                 ("batched", args.max_batch, args.concurrency,
                  f"batch 1, {args.concurrency} clients, dynamic batching")]
        if args.compare_unbatched:
            cases.append(("unbatched", 0, args.concurrency,
                          f"batch 1, {args.concurrency} clients, --max-batch 0"))
        results = []
        servers = {}
        try:
            for name, max_batch, clients, label in cases:
                if name not in servers:
                    servers[name] = Server(python, model, name, args, max_batch, tmp)
                server = servers[name]
                shape = (1,) + row_shape
                rps, lat, rows = load(server, shape, clients, args.seconds, args.max_requests)
                results.append(dict(case=label, requests_per_s=round(rps, 1),
                                    p50_ms=round(float(np.percentile(lat, 50)), 3),
                                    p99_ms=round(float(np.percentile(lat, 99)), 3),
                                    rows_per_execution=round(rows, 2), requests=len(lat)))
        finally:
            for server in servers.values():
                server.stop()
    print(f"{what}; server: --instances {args.instances}"
          f"{f' --threads {args.threads}' if args.threads else ''} --max-batch "
          f"{args.max_batch}; {os.cpu_count()} CPUs; {args.seconds:g} s each")
    print(f"| {'case':<45} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'rows/exec':>9} |")
    print(f"|{'-' * 47}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 11}|")
    for r in results:
        print(f"| {r['case']:<45} | {r['requests_per_s']:>8.1f} | {r['p50_ms']:>7.2f} | "
              f"{r['p99_ms']:>7.2f} | {r['rows_per_execution']:>9.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
