"""torch.compile(model, backend="kiln"): models against eager PyTorch, the
entry-point registration, per-shape specializations, and graphs that Kiln
compiles only in part."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import kiln.dynamo  # noqa: E402

RTOL, ATOL = 1e-3, 1e-4


def _close(got, want):
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


class _Counter:
    """Counts Kiln compilations (one per specialization, subgraph or node
    tried alone)."""

    def __init__(self, monkeypatch):
        self.count = 0
        real = kiln.dynamo._KilnCall

        def counting(*args, **kwargs):
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(kiln.dynamo, "_KilnCall", counting)


def test_registered_through_the_entry_point_without_import():
    """A fresh interpreter that never imports kiln finds backend="kiln"."""
    code = (
        "import sys, torch\n"
        "m = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.GELU(), torch.nn.Linear(8, 2))\n"
        "x = torch.randn(3, 8)\n"
        "assert 'kiln' in torch._dynamo.list_backends(), torch._dynamo.list_backends()\n"
        "with torch.no_grad():\n"
        "    got = torch.compile(m, backend='kiln')(x)\n"
        "    want = m(x)\n"
        "assert 'kiln.dynamo' in sys.modules\n"
        "assert torch.allclose(got, want, rtol=1e-4, atol=1e-5), (got - want).abs().max()\n"
        "print('ok')\n")
    env = dict(os.environ)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=600)
    assert p.returncode == 0 and p.stdout.strip().endswith("ok"), p.stdout + p.stderr


def test_resnet18_matches_eager(monkeypatch):
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    x = torch.randn(1, 3, 224, 224)
    counter = _Counter(monkeypatch)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error", kiln.dynamo.KilnFallbackWarning)
        compiled = torch.compile(model, backend="kiln", options={"threads": 2})
        got = compiled(x)
        _close(got, model(x))
        x2 = torch.randn(1, 3, 224, 224)
        _close(compiled(x2), model(x2))
    assert counter.count == 1  # one graph, compiled whole, once


def test_bert_with_attention_mask_matches_eager_at_several_shapes(monkeypatch):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=128, vocab_size=1000)
    model = transformers.BertModel(config).eval()
    counter = _Counter(monkeypatch)
    compiled = torch.compile(model, backend="kiln")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error", kiln.dynamo.KilnFallbackWarning)
        for shape in [(2, 16), (3, 9), (3, 9)]:
            ids = torch.randint(0, 1000, shape)
            mask = torch.ones(shape, dtype=torch.long)
            mask[0, shape[1] // 2:] = 0  # padding in the first sequence
            got = compiled(input_ids=ids, attention_mask=mask)
            want = model(input_ids=ids, attention_mask=mask)
            _close(got.last_hidden_state, want.last_hidden_state)
            _close(got.pooler_output, want.pooler_output)
    # (2, 16) statically, (3, 9) once in the dynamic-shape graph Dynamo traces
    # on the change of shape; the repeat is a cache hit.
    assert counter.count == 2


class _WithDet(torch.nn.Module):
    """A model with an op that Kiln does not compile (Det, the determinant)
    between layers that it does."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.head = torch.nn.Linear(4 * 8 * 8, 5)

    def forward(self, x, grid):
        y = torch.relu(self.conv(x)) + grid
        y = y * torch.linalg.det(y)[..., None, None]
        return torch.softmax(self.head(y.flatten(1)), dim=-1)


def test_unsupported_op_runs_eagerly_with_one_warning(monkeypatch):
    torch.manual_seed(0)
    model = _WithDet().eval()
    x = torch.randn(2, 3, 8, 8)
    grid = torch.rand(2, 1, 8, 8) * 0.1
    with torch.no_grad(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled = torch.compile(model, backend="kiln")
        got = compiled(x, grid)
        got2 = compiled(x, grid)
        want = model(x, grid)
    _close(got, want)
    _close(got2, want)
    ours = [w for w in caught if issubclass(w.category, kiln.dynamo.KilnFallbackWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    assert "det" in str(ours[0].message), str(ours[0].message)


def test_parts_around_the_unsupported_op_run_in_kiln(monkeypatch):
    """The convolution before and the head after the eager node are Kiln
    subgraphs: replacing Kiln's runs by zeros changes the answer."""
    torch.manual_seed(0)
    model = _WithDet().eval()
    x = torch.randn(2, 3, 8, 8)
    grid = torch.rand(2, 1, 8, 8) * 0.1
    calls = []
    real_call = kiln.dynamo._KilnCall.__call__

    def spy(self, *tensors):
        calls.append([tuple(t.shape) for t in tensors])
        return real_call(self, *tensors)

    monkeypatch.setattr(kiln.dynamo._KilnCall, "__call__", spy)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", kiln.dynamo.KilnFallbackWarning)
        compiled = torch.compile(model, backend="kiln")
        calls.clear()
        _close(compiled(x, grid), model(x, grid))
    # the conv subgraph takes x and grid; the head takes the activations
    # and their determinants
    assert [(2, 3, 8, 8), (2, 1, 8, 8)] in calls, calls
    assert [(2, 4, 8, 8), (2, 4, 1, 1)] in calls, calls


def test_input_mutation_stays_eager():
    def f(x, y):
        x.add_(1)
        return x * y

    x = torch.randn(4, 4)
    y = torch.randn(4, 4)
    want_x = x + 1
    with torch.no_grad(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = torch.compile(f, backend="kiln")(x, y)
    np.testing.assert_allclose(x.numpy(), want_x.numpy())
    np.testing.assert_allclose(got.numpy(), (want_x * y).numpy(), rtol=1e-6)
    messages = [str(w.message) for w in caught
                if issubclass(w.category, kiln.dynamo.KilnFallbackWarning)]
    assert any("in place" in m for m in messages), messages


def test_shape_cache_is_lru_and_bounded(monkeypatch):
    model = torch.nn.Sequential(torch.nn.Linear(6, 6), torch.nn.Tanh())
    counter = _Counter(monkeypatch)
    compiled = torch.compile(model, backend="kiln", dynamic=True,
                             options={"shape_cache_size": 2})
    with torch.no_grad():
        for rows in (2, 3, 2, 4, 3, 3):  # misses: 2, 3, 4 (evicts 2... then 3 hits)
            x = torch.randn(rows, 6)
            _close(compiled(x), model(x))
    # 2 miss, 3 miss, 2 hit, 4 miss (evicts 3), 3 miss (evicts 2), 3 hit
    assert counter.count == 4


def test_options_are_checked():
    model = torch.nn.Linear(3, 3)
    with pytest.raises(Exception, match="unknown option"):
        with torch.no_grad():
            torch.compile(model, backend="kiln", options={"no_such_option": 1})(torch.ones(1, 3))
    with pytest.raises(Exception, match="target must be"):
        with torch.no_grad():
            torch.compile(model, backend="kiln", options={"target": "tpu"})(torch.ones(1, 3))


def test_cuda_kernels_in_emulation():
    """target="cuda" with emulate=True: the GPU kernels' loop structure run
    by the CPU emulator, on CPU tensors."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    x = torch.randn(5, 16)
    with torch.no_grad():
        got = torch.compile(model, backend="kiln",
                            options={"target": "cuda", "emulate": True})(x)
        _close(got, model(x))


def test_outputs_need_no_grad_but_warn_once():
    model = torch.nn.Linear(4, 2)
    x = torch.randn(3, 4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled = torch.compile(model, backend="kiln")
        got = compiled(x)
        compiled(x)
    _close(got, model(x))
    assert not got.requires_grad
    messages = [str(w.message) for w in caught
                if issubclass(w.category, kiln.dynamo.KilnFallbackWarning)]
    assert sum("autograd" in m for m in messages) == 1, messages


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_tensors_run_on_the_gpu():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.GELU()).cuda().eval()
    x = torch.randn(8, 64, device="cuda")
    with torch.no_grad():
        got = torch.compile(model, backend="kiln")(x)
        want = model(x)
    assert got.device.type == "cuda"
    np.testing.assert_allclose(got.cpu().numpy(), want.cpu().numpy(), rtol=1e-3, atol=1e-4)
