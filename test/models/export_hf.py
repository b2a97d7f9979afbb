#!/usr/bin/env python3
"""Exports small Hugging Face text models (BERT, GPT-2; random weights,
nothing downloaded) that take an attention mask, with both of torch's
exporters: the legacy one at opset 17 and the default dynamo one (opset 20,
IR 10). The mask goes through the exports' IsNaN/Where (legacy) and
GatherND (dynamo) handling. The reference is onnxruntime on the export.

Output layout, in --out (default ~/.cache/kiln/models):
  hf_NAME_EXPORTER/model.onnx
  hf_NAME_EXPORTER/test_data_set_0/input_0.pb (ids), input_1.pb (mask), output_0.pb
Existing exports are kept unless --force.
"""
import argparse
import os
import sys

MODELS = ("bert", "gpt2")
EXPORTERS = ("legacy", "dynamo")


def build(name):
    import torch
    from transformers import BertConfig, BertModel, GPT2Config, GPT2Model
    torch.manual_seed(0)
    if name == "bert":
        model = BertModel(BertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2,
                                     num_attention_heads=4, intermediate_size=128,
                                     max_position_embeddings=64))
    else:
        model = GPT2Model(GPT2Config(vocab_size=1000, n_embd=64, n_layer=2, n_head=4,
                                     n_positions=64))

    class LastHidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, ids, mask):
            return self.m(input_ids=ids, attention_mask=mask).last_hidden_state

    return LastHidden(model.eval()).eval()


def export(name, exporter, out_dir, force):
    import numpy as np
    import onnxruntime as ort
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    from onnx_case import write_test_data

    model_dir = os.path.join(out_dir, f"hf_{name}_{exporter}")
    data = os.path.join(model_dir, "test_data_set_0")
    if os.path.exists(os.path.join(data, "output_0.pb")) and not force:
        print(f"hf_{name}_{exporter}: cached at {model_dir}")
        return
    os.makedirs(data, exist_ok=True)
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 1000, (2, 16), dtype=np.int64)
    mask = np.ones((2, 16), dtype=np.int64)
    mask[0, 11:] = 0  # padding in the first sequence
    path = os.path.join(model_dir, "model.onnx")
    args = (torch.from_numpy(ids), torch.from_numpy(mask))
    names = dict(input_names=["ids", "mask"], output_names=["hidden"])
    if exporter == "dynamo":
        torch.onnx.export(build(name), args, path, dynamo=True, **names)
    else:
        torch.onnx.export(build(name), args, path, dynamo=False, opset_version=17, **names)
    (hidden,) = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
        None, {"ids": ids, "mask": mask})
    write_test_data(data, [("ids", ids), ("mask", mask)], [("hidden", hidden)])
    print(f"hf_{name}_{exporter}: exported to {model_dir}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.expanduser("~/.cache/kiln/models"))
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    for name in MODELS:
        for exporter in EXPORTERS:
            export(name, exporter, args.out, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
