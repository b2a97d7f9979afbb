#!/usr/bin/env python3
"""The model zoo: the families users export today, each exported with both
of torch's exporters (legacy at opset 17, dynamo at its default opset),
random weights (nothing downloaded), checked against onnxruntime on Kiln's
CPU target and in GPU emulation, and compiled to PTX that ptxas assembles
for sm_80 and sm_90. On the CPU, every transformer's attention layers must
form `attention` kernels (ATTENTION: the count per family).

  zoo.py --kiln-build build [--subset ci|all] [--models a,b] [--report F]

Exports, inputs and onnxruntime's outputs are cached in --cache (default
$KILN_MODEL_CACHE/zoo or ~/.cache/kiln/zoo); a cached model is exported
again only with --force. Besides the families, three cases of their own:
one model saved with external data (model.onnx + model.onnx.data), one
exported with dynamic batch and sequence axes and run at two shapes (Kiln
compiles it for the shapes it is given), and one QDQ model made by
onnxruntime's quantize_static (mobilenet_v3_small, per channel).

Prints a table (model x exporter: export / CPU / emulation / PTX, with
the first error of a failure) and writes it to --report as markdown. Exit
status 1 if a model that is expected to work (not listed in KNOWN) fails,
or if a model in KNOWN passes (update the list).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "lib"))
sys.path.insert(0, os.path.join(ROOT, "test", "gpu"))

EXPORTERS = ("legacy", "dynamo")


# ----------------------------------------------------------------------------
# The families: builders of (torch module, example inputs, input names).
# Small configurations of each architecture (the layer types and the ops
# they export are the family's; widths and depths are cut so that the
# whole zoo compiles in minutes).
# ----------------------------------------------------------------------------

def image(rng, size=64, batch=1):
    return [rng.standard_normal((batch, 3, size, size)).astype("float32")]


def tv(builder, size=64):
    def make(rng):
        import torch
        torch.manual_seed(0)
        return builder().eval(), image(rng, size), ["image"]
    return make


def tv_resnet18():
    import torchvision
    return torchvision.models.resnet18(weights=None)


def tv_mobilenet_v2():
    import torchvision
    return torchvision.models.mobilenet_v2(weights=None, width_mult=0.5)


def tv_mobilenet_v3():
    import torchvision
    return torchvision.models.mobilenet_v3_small(weights=None, width_mult=0.5)


def tv_efficientnet():
    import torchvision
    return torchvision.models.efficientnet_b0(weights=None)


def tv_convnext():
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt
    return ConvNeXt([CNBlockConfig(32, 64, 2), CNBlockConfig(64, 128, 2),
                     CNBlockConfig(128, None, 2)], num_classes=10)


def tv_regnet():
    import torchvision
    return torchvision.models.regnet_y_400mf(weights=None)


def tv_densenet():
    from torchvision.models.densenet import DenseNet
    return DenseNet(growth_rate=8, block_config=(2, 2, 2), num_init_features=16, num_classes=10)


def tv_vit():
    from torchvision.models.vision_transformer import VisionTransformer
    return VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                             hidden_dim=64, mlp_dim=128, num_classes=10)


def tv_swin():
    from torchvision.models.swin_transformer import SwinTransformer
    return SwinTransformer(patch_size=[4, 4], embed_dim=32, depths=[2, 2], num_heads=[2, 4],
                           window_size=[4, 4], num_classes=10)


def tv_maxvit():
    from torchvision.models.maxvit import MaxVit
    return MaxVit(input_size=(64, 64), stem_channels=16, partition_size=4,
                  block_channels=[32, 64], block_layers=[1, 1], head_dim=16,
                  stochastic_depth_prob=0.0, num_classes=10)


def segmentation_out(model):
    """A torchvision segmentation model returning its "out" map alone."""
    import torch

    class Out(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x)["out"]
    return Out(model)


def tv_deeplabv3():
    import torchvision
    return segmentation_out(torchvision.models.segmentation.deeplabv3_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=5, aux_loss=False))


def tv_lraspp():
    import torchvision
    return segmentation_out(torchvision.models.segmentation.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=5))


def text_inputs(rng, batch=2, seq=16, vocab=1000, pad=True):
    import numpy as np
    ids = rng.integers(0, vocab, (batch, seq), dtype=np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    if pad:
        mask[0, seq - 5:] = 0
    return ids, mask


class _Hidden:
    """Wraps a Hugging Face model: (ids, mask) -> last_hidden_state."""

    @staticmethod
    def wrap(model, mask=True):
        import torch

        class Hidden(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, ids, attention_mask=None):
                if attention_mask is None:
                    return self.m(input_ids=ids).last_hidden_state
                return self.m(input_ids=ids, attention_mask=attention_mask).last_hidden_state
        return Hidden(model.eval()).eval()


def hf_text(config_builder, model_class, mask=True):
    def make(rng):
        import torch
        torch.manual_seed(0)
        model = model_class(config_builder())
        ids, m = text_inputs(rng)
        if mask:
            return _Hidden.wrap(model), [ids, m], ["ids", "mask"]
        return _Hidden.wrap(model), [ids], ["ids"]
    return make


def hf_bert():
    from transformers import BertConfig
    return BertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2,
                      num_attention_heads=4, intermediate_size=128,
                      max_position_embeddings=64)


def hf_distilbert():
    from transformers import DistilBertConfig
    return DistilBertConfig(vocab_size=1000, dim=64, n_layers=2, n_heads=4, hidden_dim=128,
                            max_position_embeddings=64)


def hf_roberta():
    from transformers import RobertaConfig
    return RobertaConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2,
                         num_attention_heads=4, intermediate_size=128,
                         max_position_embeddings=72)


def hf_gpt2():
    from transformers import GPT2Config
    return GPT2Config(vocab_size=1000, n_embd=64, n_layer=2, n_head=4, n_positions=64)


def hf_llama():
    from transformers import LlamaConfig
    return LlamaConfig(vocab_size=1000, hidden_size=64, intermediate_size=128,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       max_position_embeddings=64)


def hf_qwen2():
    from transformers import Qwen2Config
    return Qwen2Config(vocab_size=1000, hidden_size=64, intermediate_size=128,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       max_position_embeddings=64)


def hf_t5_encoder():
    from transformers import T5Config
    return T5Config(vocab_size=1000, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4)


def make_whisper(rng):
    import numpy as np
    import torch
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder
    torch.manual_seed(0)
    cfg = WhisperConfig(vocab_size=1000, d_model=64, encoder_layers=2, encoder_attention_heads=4,
                        encoder_ffn_dim=128, num_mel_bins=16, max_source_positions=32)
    enc = WhisperEncoder(cfg).eval()

    class Enc(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, mel):
            return self.m(mel).last_hidden_state
    mel = rng.standard_normal((1, 16, 64)).astype(np.float32)
    return Enc(enc).eval(), [mel], ["mel"]


def make_clip(rng):
    import numpy as np
    import torch
    from transformers import CLIPConfig, CLIPModel
    torch.manual_seed(0)
    cfg = CLIPConfig(
        text_config=dict(vocab_size=1000, hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=32),
        vision_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                           num_attention_heads=4, image_size=32, patch_size=8),
        projection_dim=32)
    model = CLIPModel(cfg).eval()

    class Logits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, ids, mask, pixels):
            return self.m(input_ids=ids, attention_mask=mask,
                          pixel_values=pixels).logits_per_image
    ids, mask = text_inputs(rng, seq=12)
    pixels = rng.standard_normal((1, 3, 32, 32)).astype(np.float32)
    return Logits(model).eval(), [ids, mask, pixels], ["ids", "mask", "pixels"]


def t5_encoder(rng):
    import torch
    from transformers import T5EncoderModel
    torch.manual_seed(0)
    model = T5EncoderModel(hf_t5_encoder())
    ids, mask = text_inputs(rng)
    return _Hidden.wrap(model), [ids, mask], ["ids", "mask"]


def lstm_tagger(rng):
    """A sequence tagger: embedding, a 2-layer bidirectional LSTM (batch
    first), a linear head per step."""
    import numpy as np
    import torch

    class Tagger(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(1000, 64)
            self.lstm = torch.nn.LSTM(64, 96, num_layers=2, bidirectional=True,
                                      batch_first=True)
            self.head = torch.nn.Linear(192, 10)

        def forward(self, ids):
            h, _ = self.lstm(self.emb(ids))
            return self.head(h)

    return Tagger().eval(), [rng.integers(0, 1000, (2, 24), dtype=np.int64)], ["ids"]


def crnn_gru(rng):
    """A text-line recognizer (CRNN): convolutions over a 32-pixel-high
    line, its columns read by a bidirectional GRU (sequence first)."""
    import numpy as np
    import torch

    class Crnn(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Sequential(
                torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(),
                torch.nn.MaxPool2d((4, 1)))
            self.gru = torch.nn.GRU(32 * 4, 64, bidirectional=True)
            self.head = torch.nn.Linear(128, 37)

        def forward(self, image):
            f = self.conv(image)
            b, c, h, w = f.shape
            y, _ = self.gru(f.reshape(b, c * h, w).permute(2, 0, 1))
            return self.head(y).log_softmax(-1)

    return Crnn().eval(), [rng.standard_normal((2, 1, 32, 48)).astype(np.float32)], ["image"]


def spectrogram(rng):
    """An audio front end: a Hann-windowed STFT's power, its log, a 1-D
    convolution over the frequency bins."""
    import numpy as np
    import torch

    class Spec(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("win", torch.hann_window(128))
            self.conv = torch.nn.Conv1d(65, 32, 3)

        def forward(self, wave):
            z = torch.stft(wave, n_fft=128, hop_length=32, window=self.win, center=False,
                           return_complex=True)
            p = torch.view_as_real(z).pow(2).sum(-1)
            return self.conv(torch.log(p + 1e-6))

    return Spec().eval(), [rng.standard_normal((2, 2048)).astype(np.float32)], ["wave"]


def hf(name):
    from transformers import (BertModel, DistilBertModel, GPT2Model, LlamaModel, Qwen2Model,
                              RobertaModel)
    configs = {"bert": (hf_bert, BertModel), "distilbert": (hf_distilbert, DistilBertModel),
               "roberta": (hf_roberta, RobertaModel), "gpt2": (hf_gpt2, GPT2Model),
               "llama": (hf_llama, LlamaModel), "qwen2": (hf_qwen2, Qwen2Model)}
    cfg, cls = configs[name]
    return hf_text(cfg, cls)


FAMILIES = {
    "resnet18": lambda rng: tv(tv_resnet18)(rng),
    "mobilenet_v2": lambda rng: tv(tv_mobilenet_v2)(rng),
    "mobilenet_v3_small": lambda rng: tv(tv_mobilenet_v3)(rng),
    "efficientnet_b0": lambda rng: tv(tv_efficientnet)(rng),
    "convnext": lambda rng: tv(tv_convnext)(rng),
    "regnet_y_400mf": lambda rng: tv(tv_regnet)(rng),
    "densenet": lambda rng: tv(tv_densenet)(rng),
    "vit": lambda rng: tv(tv_vit, 32)(rng),
    "swin": lambda rng: tv(tv_swin)(rng),
    "maxvit": lambda rng: tv(tv_maxvit)(rng),
    "deeplabv3_mobilenet": lambda rng: tv(tv_deeplabv3)(rng),
    "lraspp_mobilenet": lambda rng: tv(tv_lraspp)(rng),
    "bert": lambda rng: hf("bert")(rng),
    "distilbert": lambda rng: hf("distilbert")(rng),
    "roberta": lambda rng: hf("roberta")(rng),
    "gpt2": lambda rng: hf("gpt2")(rng),
    "llama": lambda rng: hf("llama")(rng),
    "qwen2": lambda rng: hf("qwen2")(rng),
    "t5_encoder": t5_encoder,
    "whisper_encoder": make_whisper,
    "clip": make_clip,
    "lstm_tagger": lstm_tagger,
    "crnn_gru": crnn_gru,
    "spectrogram": spectrogram,
}

# What the test command runs (exports cached; about 2 minutes warm; the
# convolution families are covered there by check_models.sh and the QDQ case).
CI_SUBSET = ["vit", "llama", "crnn_gru"]

# Attention kernels the CPU target forms (kiln-fuse-attention) per family,
# as `kilnc --emit=fused` lists them: every attention layer. Fewer fails
# the run.
ATTENTION = {"vit": 2, "swin": 4, "maxvit": 4, "bert": 2, "distilbert": 2, "roberta": 2,
             "gpt2": 2, "llama": 2, "qwen2": 2, "t5_encoder": 2, "whisper_encoder": 2,
             "clip": 4}

# Known failures, "family/exporter" -> reason. A listed model that passes
# fails the run (the list must shrink as Kiln grows).
KNOWN = {"spectrogram/legacy": "export: torch's legacy exporter cannot export a complex "
                                "STFT (torch's own error)"}


# ----------------------------------------------------------------------------
# Export and reference
# ----------------------------------------------------------------------------

def export(name, exporter, cache, force, extra=None):
    """Exports (cached) and writes test_data_set_0 with onnxruntime's
    outputs. Returns the model folder; raises on export failure."""
    import numpy as np
    import onnxruntime as ort
    import torch
    from onnx_case import write_test_data

    folder = os.path.join(cache, f"{name}_{exporter}")
    data = os.path.join(folder, "test_data_set_0")
    if os.path.exists(os.path.join(data, "output_0.pb")) and not force:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(data)
    rng = np.random.default_rng(7)
    module, inputs, names = FAMILIES[name](rng)
    path = os.path.join(folder, "model.onnx")
    args = tuple(torch.from_numpy(x) for x in inputs)
    kw = dict(input_names=names, output_names=["out"])
    kw.update(extra or {})
    # nn.MultiheadAttention's inference fast path (one fused aten op) has no
    # ONNX export in the legacy exporter; users turn it off to export.
    torch.backends.mha.set_fastpath_enabled(False)
    with torch.no_grad():
        if exporter == "dynamo":
            torch.onnx.export(module, args, path, dynamo=True, **kw)
        else:
            torch.onnx.export(module, args, path, dynamo=False, opset_version=17, **kw)
    outs = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
        None, dict(zip(names, inputs)))
    write_test_data(data, list(zip(names, inputs)), [("out", outs[0])])
    return folder


def export_special(kind, cache, force):
    """The three cases of their own: external data, dynamic axes, QDQ."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx_case import write_test_data

    if kind == "external_data":
        return _external(cache, force)
    if kind == "dynamic_axes":
        folder = os.path.join(cache, "bert_dynamic_legacy")
        if os.path.exists(os.path.join(folder, "test_data_set_1", "output_0.pb")) and not force:
            return folder
        import torch
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        rng = np.random.default_rng(11)
        module, inputs, names = FAMILIES["bert"](rng)
        path = os.path.join(folder, "model.onnx")
        with torch.no_grad():
            torch.onnx.export(module, tuple(torch.from_numpy(x) for x in inputs), path,
                              dynamo=False, opset_version=17, input_names=names,
                              output_names=["out"],
                              dynamic_axes={"ids": {0: "batch", 1: "seq"},
                                            "mask": {0: "batch", 1: "seq"},
                                            "out": {0: "batch", 1: "seq"}})
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        for i, (batch, seq) in enumerate([(2, 16), (3, 9)]):
            ids, mask = text_inputs(rng, batch, seq)
            out = sess.run(None, {"ids": ids, "mask": mask})[0]
            write_test_data(os.path.join(folder, f"test_data_set_{i}"),
                            [("ids", ids), ("mask", mask)], [("out", out)])
        return folder
    if kind == "qdq":
        folder = os.path.join(cache, "mobilenet_v3_small_qdq")
        data = os.path.join(folder, "test_data_set_0")
        if os.path.exists(os.path.join(data, "output_0.pb")) and not force:
            return folder
        from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                              quantize_static)
        fp32 = os.path.join(export("mobilenet_v3_small", "legacy", cache, False), "model.onnx")
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(data)
        rng = np.random.default_rng(5)
        samples = [rng.standard_normal((1, 3, 64, 64)).astype(np.float32) for _ in range(8)]

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.it = iter({"image": s} for s in samples)

            def get_next(self):
                return next(self.it, None)

        path = os.path.join(folder, "model.onnx")
        quantize_static(fp32, path, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        x = rng.standard_normal((1, 3, 64, 64)).astype(np.float32)
        out = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]).run(
            None, {"image": x})[0]
        write_test_data(data, [("image", x)], [("out", out)])
        return folder
    raise ValueError(kind)


def _external(cache, force):
    """vit (dynamo) re-saved with every initializer in model.onnx.data."""
    import onnx
    src = export("vit", "dynamo", cache, False)
    folder = os.path.join(cache, "vit_external_data")
    data = os.path.join(folder, "test_data_set_0")
    if os.path.exists(os.path.join(data, "output_0.pb")) and not force:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    m = onnx.load(os.path.join(src, "model.onnx"))
    onnx.save_model(m, os.path.join(folder, "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="model.onnx.data",
                    size_threshold=0)
    shutil.copytree(os.path.join(src, "test_data_set_0"), data)
    return folder


# ----------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------

def first_error(text):
    lines = [l for l in text.splitlines() if "error" in l.lower() or "MISMATCH" in l]
    return (lines[0] if lines else text.strip().splitlines()[-1] if text.strip() else "")[:240]


def run_kiln(build, folder, emulate, timeout, tol):
    cmd = [os.path.join(build, "bin", "kiln-run"), os.path.join(folder, "model.onnx")]
    if emulate:
        cmd += ["--target=cuda", "--emulate"]
    cmd += ["--rtol", str(tol[0]), "--atol", str(tol[1])]
    sets = sorted(d for d in os.listdir(folder) if d.startswith("test_data_set_"))
    for s in sets:
        try:
            p = subprocess.run(cmd + ["--test-data", os.path.join(folder, s)],
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "timeout", f"no result after {timeout} s"
        if p.returncode != 0:
            kind = {1: "mismatch", 2: "error"}.get(p.returncode, "crash")
            return kind, first_error(p.stdout + p.stderr)
    return "ok", f"{len(sets)} input set(s)"


def pinned_shapes(folder):
    """--input-shape flags from test_data_set_0, for a model with symbolic
    dims (kilnc compiles one set of shapes)."""
    import onnx
    model = onnx.load(os.path.join(folder, "model.onnx"), load_external_data=False)
    flags = []
    data = os.path.join(folder, "test_data_set_0")
    for i, vi in enumerate(model.graph.input):
        dims = vi.type.tensor_type.shape.dim
        if any(not d.HasField("dim_value") for d in dims):
            t = onnx.TensorProto()
            with open(os.path.join(data, f"input_{i}.pb"), "rb") as f:
                t.ParseFromString(f.read())
            flags.append(f"--input-shape={vi.name}={'x'.join(map(str, t.dims))}")
    return flags


def attention_kernels(build, folder, timeout):
    """The number of `attention` kernels in the CPU target's partition."""
    p = subprocess.run([os.path.join(build, "bin", "kilnc"), os.path.join(folder, "model.onnx"),
                        "--emit=fused", "-o", "-"] + pinned_shapes(folder),
                       capture_output=True, text=True, timeout=timeout)
    return len(re.findall(r'kiln\.kernel "[^"]*"\s+attention\(', p.stdout)) \
        if p.returncode == 0 else 0


def run_ptx(build, folder, timeout):
    import ptx_sweep
    if not ptx_sweep.PTXAS:
        return "skip", "no ptxas"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            kind, msg, stats = ptx_sweep.check(os.path.join(build, "bin", "kilnc"),
                                               os.path.join(folder, "model.onnx"), tmp, timeout,
                                               name="zoo", extra_args=pinned_shapes(folder))
        except Exception as e:  # noqa: BLE001 - reported in the table
            return "error", str(e)[:200]
    if kind != "ok":
        return kind, msg
    kernels = len(stats.get("sm_90", []))
    spills = max((k["spill"] for ks in stats.values() for k in ks), default=0)
    return ("ok" if spills == 0 else "spills"), f"{kernels} kernels, spilled {spills} B max"


class ProgressBar:
    """A bar on the terminal's last line: cases done, the case and step at
    hand, time so far and an estimate of what is left. Prints nothing when
    stderr is not a terminal (CI logs keep one line per case)."""

    def __init__(self, total, stream=sys.stderr):
        self.total = total
        self.stream = stream
        self.on = stream.isatty()
        self.start = time.time()
        self.shown = False

    def show(self, done, what, step):
        if not self.on:
            return
        width = 24
        filled = int(width * done / max(1, self.total))
        elapsed = time.time() - self.start
        left = ""
        if done:
            rest = elapsed / done * (self.total - done)
            left = f", ~{rest:.0f} s left" if rest < 120 else f", ~{rest / 60:.0f} min left"
        self.stream.write(f"\r\033[K[{'#' * filled}{'.' * (width - filled)}] "
                          f"{done}/{self.total} {what}: {step} ({elapsed:.0f} s{left})")
        self.stream.flush()
        self.shown = True

    def clear(self):
        if self.on and self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kiln-build", default=os.path.join(ROOT, "build"))
    default_cache = os.path.join(os.environ.get(
        "KILN_MODEL_CACHE", os.path.expanduser("~/.cache/kiln/models")), "..", "zoo")
    ap.add_argument("--cache", default=os.path.normpath(default_cache))
    ap.add_argument("--subset", choices=("ci", "all"), default="all")
    ap.add_argument("--models", default="", help="comma-separated families (default: the subset)")
    ap.add_argument("--exporters", default=",".join(EXPORTERS))
    ap.add_argument("--no-special", action="store_true",
                    help="skip the external-data, dynamic-axes and QDQ cases")
    ap.add_argument("--no-emulation", action="store_true")
    ap.add_argument("--no-ptx", action="store_true")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--force", action="store_true", help="export again")
    ap.add_argument("--report", help="write the table here (markdown) and .json beside it")
    args = ap.parse_args()

    names = [m for m in args.models.split(",") if m] or \
        (CI_SUBSET if args.subset == "ci" else list(FAMILIES))
    unknown = [m for m in names if m not in FAMILIES]
    if unknown:
        print(f"unknown families: {', '.join(unknown)} (known: {', '.join(FAMILIES)})",
              file=sys.stderr)
        return 2
    os.makedirs(args.cache, exist_ok=True)
    cases = [(m, e) for m in names for e in args.exporters.split(",") if e]
    if not args.no_special:
        cases += [("external_data", "-"), ("dynamic_axes", "-"), ("qdq", "-")]
    rows = []
    failed = False
    bar = ProgressBar(len(cases))
    for index, (name, exporter) in enumerate(cases):
        key = f"{name}/{exporter}"
        row = {"model": name, "exporter": exporter}
        t0 = time.time()
        bar.show(index, key, "exporting")
        try:
            if exporter == "-":
                folder = export_special(name, args.cache, args.force)
            else:
                folder = export(name, exporter, args.cache, args.force)
            row["export"] = ("ok", "")
        except Exception as e:  # noqa: BLE001 - an exporter failure is a row
            row["export"] = ("export-failed", f"{type(e).__name__}: {str(e)[:200]}")
            bar.clear()
            traceback.print_exc(limit=1)
            rows.append(row)
            print(f"{key}: export failed: {row['export'][1]}", flush=True)
            continue
        # QDQ: rounding ties may move a value by one quantization step.
        tol = (1e-3, 1e-4) if name != "qdq" else (1e-2, 2e-2)
        bar.show(index, key, "CPU target")
        row["cpu"] = run_kiln(args.kiln_build, folder, False, args.timeout, tol)
        if name in ATTENTION and row["cpu"][0] == "ok":
            fused = attention_kernels(args.kiln_build, folder, args.timeout)
            if fused < ATTENTION[name]:
                row["cpu"] = ("unfused", f"{fused} attention kernels, {ATTENTION[name]} expected")
        if not args.no_emulation:
            bar.show(index, key, "GPU emulation")
            row["emulation"] = run_kiln(args.kiln_build, folder, True, args.timeout, tol)
        if not args.no_ptx:
            bar.show(index, key, "PTX")
            row["ptx"] = run_ptx(args.kiln_build, folder, args.timeout)
        row["seconds"] = round(time.time() - t0, 1)
        results = [row[k][0] for k in ("cpu", "emulation", "ptx") if k in row]
        ok = all(r in ("ok", "skip") for r in results)
        if key in KNOWN and ok:
            print(f"{key}: passes but is listed in KNOWN: remove it", flush=True)
            failed = True
        elif not ok and key not in KNOWN:
            failed = True
        bar.clear()
        print(f"{key}: " + ", ".join(f"{k} {row[k][0]}" + (f" ({row[k][1]})" if row[k][0] not in
                                                          ("ok", "skip") else "")
                                     for k in ("cpu", "emulation", "ptx") if k in row)
              + f" [{row['seconds']} s]", flush=True)
        rows.append(row)

    bar.clear()
    lines = ["| model | exporter | CPU | GPU emulation | PTX (sm_80, sm_90) |",
             "| --- | --- | --- | --- | --- |"]
    for r in rows:
        def cell(k):
            if r.get("export", ("ok",))[0] != "ok":
                return "export failed" if k == "cpu" else ""
            v = r.get(k)
            if v is None:
                return "-"
            return v[0] if v[0] in ("ok", "skip") else f"{v[0]}: {v[1]}"
        lines.append(f"| {r['model']} | {r['exporter']} | {cell('cpu')} | {cell('emulation')} "
                     f"| {cell('ptx')} |")
    table = "\n".join(lines)
    print(table)
    if args.report:
        with open(args.report, "w") as f:
            f.write(table + "\n")
        with open(os.path.splitext(args.report)[0] + ".json", "w") as f:
            json.dump(rows, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
