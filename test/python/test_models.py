"""Exported torchvision / transformer models (test/models/export_models.py)
and the example model, compiled from Python, against onnxruntime on random
inputs."""
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import kiln
from conftest import EXAMPLES, MODEL_CACHE

# fp32 through deep networks: Kiln and onnxruntime sum in different orders.
RTOL, ATOL = 1e-3, 1e-4


def random_feeds(model, rng):
    feeds = {}
    for t in model.inputs:
        if t.dtype.kind == "f":
            feeds[t.name] = rng.standard_normal(t.shape).astype(t.dtype)
        elif t.dtype.kind == "b":
            feeds[t.name] = rng.random(t.shape) < 0.5
        else:
            feeds[t.name] = rng.integers(0, 10, t.shape).astype(t.dtype)
    return feeds


def check_against_onnxruntime(path_or_proto, rng, **compile_args):
    model = kiln.compile(path_or_proto, **compile_args)
    source = path_or_proto
    if isinstance(source, str) and source.endswith(".onnxtxt"):
        with open(source) as f:
            source = onnx.parser.parse_model(f.read())
    if not isinstance(source, str):
        source = source.SerializeToString()
    sess = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    for _ in range(2):
        feeds = random_feeds(model, rng)
        expected = sess.run(None, feeds)
        got = model.run(None, feeds)
        assert [o.name for o in sess.get_outputs()] == [t.name for t in model.outputs]
        for g, e in zip(got, expected):
            assert g.shape == e.shape and g.dtype == e.dtype
            np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL)
    return model


def test_tiny_cnn(rng):
    check_against_onnxruntime(os.path.join(EXAMPLES, "tiny_cnn.onnxtxt"), rng)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "encoder"])
def test_exported_model(name, rng):
    # Saved libraries of these models are checked by test/models/
    # check_models.sh (kilnc --emit=so); here: the in-process JIT.
    path = os.path.join(MODEL_CACHE, name, "model.onnx")
    if not os.path.exists(path):
        pytest.skip(f"{path} is missing: run test/models/export_models.py --out {MODEL_CACHE}")
    check_against_onnxruntime(path, rng)
