#!/usr/bin/env python3
"""Writes the ONNX backend node tests of the pinned onnx package (its case
generators; the PyPI wheel ships no node test data) in the backend-test
layout: OUT/NAME/model.onnx and OUT/NAME/test_data_set_N/{input,output}_K.pb.

Newer than Debian's libonnx-testdata (932 tests, opset <= 17): these cover
every opset the onnx package knows. Sequence, map and optional values are
written with numpy_helper's from_list / from_dict / from_optional.

  gen_node_tests.py OUT     (skips the work when OUT/.onnx-VERSION exists)
"""
import os
import shutil
import sys
import warnings

import onnx
from onnx import TensorProto, numpy_helper
from onnx.backend.test.case.node import collect_testcases


def value_proto(value, value_info):
    t = value_info.type
    if isinstance(value, TensorProto):
        return value
    if t.HasField("sequence_type"):
        return numpy_helper.from_list(value, value_info.name)
    if t.HasField("map_type"):
        return numpy_helper.from_dict(value, value_info.name)
    if t.HasField("optional_type"):
        return numpy_helper.from_optional(value, value_info.name)
    return numpy_helper.from_array(value, value_info.name)


def main():
    # The generators overflow on purpose (casts to narrow types) and say so.
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    out = sys.argv[1]
    stamp = os.path.join(out, f".onnx-{onnx.__version__}")
    if os.path.exists(stamp):
        print(f"node tests of onnx {onnx.__version__}: already in {out}")
        return 0
    shutil.rmtree(out, ignore_errors=True)
    cases = collect_testcases()
    for case in cases:
        case_dir = os.path.join(out, case.name)
        os.makedirs(case_dir)
        with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        for i, (inputs, outputs) in enumerate(case.data_sets):
            data = os.path.join(case_dir, f"test_data_set_{i}")
            os.makedirs(data)
            for kind, values, infos in (("input", inputs, case.model.graph.input),
                                        ("output", outputs, case.model.graph.output)):
                for k, v in enumerate(values):
                    with open(os.path.join(data, f"{kind}_{k}.pb"), "wb") as f:
                        f.write(value_proto(v, infos[k]).SerializeToString())
    open(stamp, "w").close()
    print(f"node tests of onnx {onnx.__version__}: {len(cases)} written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
