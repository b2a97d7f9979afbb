"""DLPack with torch CPU tensors: inputs read in place, outputs handed to
torch without a copy."""
import os

import numpy as np
import pytest

import kiln
from conftest import EXAMPLES

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def cnn():
    return kiln.compile(os.path.join(EXAMPLES, "tiny_cnn.onnxtxt"))


def test_torch_input_is_read_in_place(cnn):
    t = torch.randn(1, 3, 32, 32)
    arr = cnn._prepare_input(cnn.inputs[0], t)
    assert arr.ctypes.data == t.data_ptr()
    np.testing.assert_array_equal(cnn(t), cnn(t.numpy().copy()))


def test_torch_non_contiguous_input(cnn):
    base = torch.randn(1, 3, 32, 32)
    t = base.transpose(2, 3).contiguous().transpose(2, 3)  # same values, other strides
    assert not t.is_contiguous()
    np.testing.assert_array_equal(cnn(t), cnn(base.numpy()))


def test_outputs_as_dlpack_capsules(cnn):
    t = torch.randn(1, 3, 32, 32)
    (y,) = cnn.run(None, {"image": t})
    (capsule,) = cnn.run(None, {"image": t}, dlpack=True)
    ty = torch.from_dlpack(capsule)
    assert ty.shape == (1, 10) and ty.dtype == torch.float32
    np.testing.assert_array_equal(ty.numpy(), y)
    # numpy outputs go to torch without a copy as well.
    assert torch.from_dlpack(y).data_ptr() == y.ctypes.data


def test_round_trip_matches_torch_reference():
    # Kiln's result on torch inputs against torch itself (an independent
    # reference): a small convolution + GELU-free MLP exported from torch.
    import io

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(4 * 8 * 8, 5)).eval()
    x = torch.randn(2, 3, 8, 8)
    buf = io.BytesIO()
    torch.onnx.export(net, (x,), buf, input_names=["x"], output_names=["y"], opset_version=17,
                      dynamo=False)
    model = kiln.compile(buf.getvalue())
    with torch.no_grad():
        expected = net(x)
    got = torch.from_dlpack(model.run(None, {"x": x}, dlpack=True)[0])
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_tensor_that_requires_grad_is_reported(cnn):
    t = torch.randn(1, 3, 32, 32, requires_grad=True)
    with pytest.raises(kiln.RuntimeError, match="DLPack"):
        cnn(t)


def test_wrong_dtype_torch_tensor(cnn):
    with pytest.raises(kiln.RuntimeError, match="expects dtype float32, got float64"):
        cnn(torch.randn(1, 3, 32, 32, dtype=torch.float64))
