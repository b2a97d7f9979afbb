//===- ToolSupport.h - what Kiln's command-line drivers share --*- C++ -*-===//
//
// kilnc, kiln-run and the Python module parse shapes and print the
// diagnostics of the importer and the pipelines the same way.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_SUPPORT_TOOLSUPPORT_H
#define KILN_SUPPORT_TOOLSUPPORT_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace kiln {

/// Parses "1x3x224x224" (or "scalar" for rank 0) into dimensions.
bool parseShape(llvm::StringRef text, llvm::SmallVectorImpl<int64_t> &dims);

/// Describes where a diagnostic points: "model.onnx: node 'conv1'".
std::string describeLocation(mlir::Location loc);

/// Prints a diagnostic and its notes to stderr as
/// "<tool>: error: model.onnx: node 'x': message".
void printDiagnostic(llvm::StringRef tool, mlir::Diagnostic &diag);

} // namespace kiln

#endif // KILN_SUPPORT_TOOLSUPPORT_H
