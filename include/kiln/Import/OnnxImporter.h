//===- OnnxImporter.h - ONNX to kiln import -------------------*- C++ -*-===//
#ifndef KILN_IMPORT_ONNXIMPORTER_H
#define KILN_IMPORT_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <string>

namespace kiln {

/// How an ONNX model is read and which unknown dimensions are pinned.
struct ImportOptions {
  /// Static shapes for graph inputs, by input name (`--input-shape`).
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// Folder that external tensor data is read from; paths in the model may
  /// not escape it. Empty: external data is an error.
  std::string modelDir;
  /// Name used in diagnostics for the model (a path or "<bytes>").
  std::string modelName = "<model>";
};

/// Imports a model from a file: binary protobuf (`.onnx`) or ONNX text
/// syntax (`.onnxtxt`, or detected from the content). Errors are reported
/// through the context's diagnostic engine; returns null on failure.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxFile(mlir::MLIRContext &ctx,
                                                 llvm::StringRef path,
                                                 ImportOptions options);

/// Imports a model held in memory (binary protobuf or ONNX text syntax).
mlir::OwningOpRef<mlir::ModuleOp> importOnnxBytes(mlir::MLIRContext &ctx,
                                                  llvm::StringRef bytes,
                                                  const ImportOptions &options);

/// Parses "1x3x224x224" (or "scalar" / "" for rank 0) into dimensions.
bool parseShape(llvm::StringRef text, llvm::SmallVectorImpl<int64_t> &dims);

/// Describes where a diagnostic points: "model.onnx: node 'conv1'".
std::string describeLocation(mlir::Location loc);

/// Registers the dialects the importer creates ops of.
void registerImportDialects(mlir::MLIRContext &ctx);

} // namespace kiln

#endif // KILN_IMPORT_ONNXIMPORTER_H
