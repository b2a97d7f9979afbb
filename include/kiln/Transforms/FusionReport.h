//===- FusionReport.h - describe a model's kernel partition ----*- C++ -*-===//
#ifndef KILN_TRANSFORMS_FUSIONREPORT_H
#define KILN_TRANSFORMS_FUSIONREPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace kiln {

/// Describes the kernels of a partitioned module (after kiln-form-kernels)
/// as JSON: per kernel its name, kind, the ONNX nodes it covers, its kiln
/// ops, FLOPs and bytes moved (inputs read plus results written); and the
/// totals, with the ONNX graph's node count when the importer recorded it.
/// `gpuStrategies` adds, per kernel (by index), the GPU strategies its ops
/// were given (`gpu_strategies`).
std::string fusionReportJson(
    mlir::ModuleOp module, const std::map<int64_t, std::vector<std::string>> &gpuStrategies = {});

/// Draws a fusion report (fusionReportJson's text) as an SVG picture of the
/// kernel graph, or as an HTML page with that picture, a legend and a table
/// of the kernels (`html`). `traceJson`, when not empty, is a profile trace
/// of the same model (kiln-run --profile): each kernel then shows its time
/// per run and share.
llvm::Expected<std::string> fusionReportPicture(llvm::StringRef reportJson,
                                                llvm::StringRef traceJson, bool html);

/// FLOPs (a fused multiply-add counts two) and bytes moved (inputs read
/// plus results written) of one kernel group, as the fusion report counts
/// them; `nodes` gets the ONNX node names it covers.
struct KernelCost {
  int64_t flops = 0, bytes = 0;
  std::vector<std::string> nodes;
};
KernelCost kernelCost(mlir::Operation *kernel);

/// The distinct values of discardable attribute `name` on the ops of each
/// kernel group (`kiln.kernel` index) of a lowered module, printed, in
/// program order.
std::map<int64_t, std::vector<std::string>> kernelAttributes(mlir::ModuleOp module,
                                                             llvm::StringRef name);

} // namespace kiln

#endif // KILN_TRANSFORMS_FUSIONREPORT_H
