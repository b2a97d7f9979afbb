#!/usr/bin/env python3
"""Exports real PyTorch models to ONNX (opset 17) with random weights, plus
one test-data set per model whose reference outputs come from onnxruntime.

Models: torchvision resnet18 and mobilenet_v2 (batch 1, 3x224x224) and a
BERT-style encoder (nn.TransformerEncoder, 4 layers, d_model 256, 4 heads,
GELU, sequence 64); on request (for GPU timing) torchvision resnet50 and
bert_base, the same encoder at BERT-base size (12 layers, d_model 768, 12
heads, sequence 128), bert_base_512 (the same at sequence 512), and
gpt2_128 / gpt2_512 (Hugging Face GPT-2 small, causal attention, at
sequence 128 / 512). Nothing is downloaded: weights are seeded random.
--batch B exports at batch B instead of 1.

Output layout, in --out (default ~/.cache/kiln/models):
  NAME/model.onnx                 (NAME_bB at batch B)
  NAME/test_data_set_0/input_0.pb, output_0.pb  (not with --no-reference)
Existing models are kept unless --force.
"""
import argparse
import os
import sys


# name: (layers, d_model, heads, sequence) of the transformer encoders
ENCODERS = {"encoder": (4, 256, 4, 64), "bert_base": (12, 768, 12, 128),
            "bert_base_512": (12, 768, 12, 512)}
# name: sequence of GPT-2 small (Hugging Face GPT2Model, 12 layers, d_model
# 768, 12 heads, random weights) taking only token ids: causal attention.
GPT2 = {"gpt2_128": 128, "gpt2_512": 512}


def build(name, batch=1):
    """(torch module, example input of the given batch)."""
    import torch
    torch.manual_seed(0)
    if name in ("resnet18", "resnet50", "mobilenet_v2"):
        import torchvision
        return getattr(torchvision.models, name)(weights=None), torch.randn(batch, 3, 224, 224)
    if name in ENCODERS:
        layers, width, heads, seq = ENCODERS[name]

        class Encoder(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = torch.nn.Embedding(1000, width)
                self.pos = torch.nn.Parameter(torch.randn(1, seq, width) * 0.02)
                layer = torch.nn.TransformerEncoderLayer(
                    d_model=width, nhead=heads, dim_feedforward=4 * width, dropout=0.0,
                    activation="gelu", batch_first=True)
                self.encoder = torch.nn.TransformerEncoder(layer, num_layers=layers,
                                                           enable_nested_tensor=False)
                self.head = torch.nn.Linear(width, 2)

            def forward(self, ids):
                h = self.embed(ids) + self.pos
                h = self.encoder(h)
                return self.head(h[:, 0])

        return Encoder(), torch.randint(0, 1000, (batch, seq))
    if name in GPT2:
        from transformers import GPT2Config, GPT2Model

        class LastHidden(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.m = GPT2Model(GPT2Config(n_positions=1024)).eval()

            def forward(self, ids):
                return self.m(input_ids=ids).last_hidden_state

        return LastHidden(), torch.randint(0, 1000, (batch, GPT2[name]))
    raise ValueError(name)


def export(name, out_dir, force, batch=1, reference=True):
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    # Imported here: this file also travels alone (the GPU bundle) for build().
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    from onnx_case import write_test_data

    model_dir = os.path.join(out_dir, name if batch == 1 else f"{name}_b{batch}")
    model_path = os.path.join(model_dir, "model.onnx")
    data_dir = os.path.join(model_dir, "test_data_set_0")
    done = os.path.join(data_dir, "output_0.pb") if reference else model_path
    if os.path.exists(done) and not force:
        print(f"{name}: cached at {model_dir}")
        return
    os.makedirs(model_dir, exist_ok=True)
    model, example = build(name, batch)
    model.eval()
    kwargs = dict(opset_version=17, input_names=["input"], output_names=["output"],
                  do_constant_folding=True)
    try:
        torch.onnx.export(model, (example,), model_path, dynamo=False, **kwargs)
    except TypeError:  # older torch without the dynamo switch
        torch.onnx.export(model, (example,), model_path, **kwargs)
    onnx.checker.check_model(model_path)
    if not reference:
        print(f"{name}: exported to {model_dir} (no reference)")
        return

    # The reference is onnxruntime on the exported model, on fresh inputs.
    rng = np.random.default_rng(1)
    if example.dtype == torch.int64:
        x = rng.integers(0, 1000, size=example.shape, dtype=np.int64)
    else:
        x = rng.standard_normal(example.shape).astype(np.float32)
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"input": x})
    write_test_data(data_dir, [("input", x)], [("output", y)])
    print(f"{name}: exported to {model_dir}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.expanduser("~/.cache/kiln/models"))
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--no-reference", action="store_true",
                    help="only the model (for timing): no onnxruntime reference")
    ap.add_argument("models", nargs="*", default=["resnet18", "mobilenet_v2", "encoder"])
    args = ap.parse_args()
    for name in args.models:
        export(name, args.out, args.force, args.batch, not args.no_reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
