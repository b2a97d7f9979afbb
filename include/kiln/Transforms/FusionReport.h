//===- FusionReport.h - describe a model's kernel partition ----*- C++ -*-===//
#ifndef KILN_TRANSFORMS_FUSIONREPORT_H
#define KILN_TRANSFORMS_FUSIONREPORT_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace kiln {

/// Describes the kernels of a partitioned module (after kiln-form-kernels)
/// as JSON: per kernel its name, kind, the ONNX nodes it covers, its kiln
/// ops, FLOPs and bytes moved (inputs read plus results written); and the
/// totals, with the ONNX graph's node count when the importer recorded it.
std::string fusionReportJson(mlir::ModuleOp module);

} // namespace kiln

#endif // KILN_TRANSFORMS_FUSIONREPORT_H
