//===- OnnxImporter.h - ONNX to kiln import -------------------*- C++ -*-===//
#ifndef KILN_IMPORT_ONNXIMPORTER_H
#define KILN_IMPORT_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <map>
#include <vector>

#include <string>

namespace kiln {

/// A tensor held on the host: ONNX data type code, shape and dense
/// row-major little-endian bytes (bool: one byte per element).
struct HostTensor {
  std::string name;
  int32_t dtype = 0;
  std::vector<int64_t> shape;
  std::string bytes;
};

/// How an ONNX model is read and which unknown dimensions are pinned.
struct ImportOptions {
  /// Static shapes for graph inputs, by input name (`--input-shape`).
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// Folder that external tensor data is read from; paths in the model may
  /// not escape it. Empty: external data is an error.
  std::string modelDir;
  /// Graph inputs replaced by constants with these values, so that
  /// shape-determining inputs (Reshape's shape, ...) become static.
  std::map<std::string, HostTensor> frozenInputs;
  /// Name used in diagnostics for the model (a path or "<bytes>").
  std::string modelName = "<model>";
  /// The largest tensor, in bytes, a model may declare or compute (graph
  /// inputs and outputs, initializers, every op's result): larger ones are
  /// an error naming the tensor or node, so that no size taken from the
  /// model allocates without bound. kilnc --max-tensor-bytes.
  uint64_t maxTensorBytes = kDefaultMaxTensorBytes;
  static constexpr uint64_t kDefaultMaxTensorBytes = uint64_t(16) << 30;
  /// Checks at run time the indices of Gather, GatherElements and GatherND
  /// that are not constants: the model gets one extra result per such
  /// input (its per-component minimum and maximum, marked `kiln.check`),
  /// which the runtime compares against the bounds and turns into an error
  /// naming the node and input. kilnc --no-index-checks.
  bool indexChecks = true;
};

/// Imports a model from a file: binary protobuf (`.onnx`) or ONNX text
/// syntax (`.onnxtxt`, or detected from the content). Errors are reported
/// through the context's diagnostic engine; returns null on failure.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxFile(mlir::MLIRContext &ctx,
                                                 llvm::StringRef path,
                                                 ImportOptions options);

/// Imports a binary protobuf model held in memory.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxBinary(mlir::MLIRContext &ctx,
                                                   llvm::StringRef bytes,
                                                   const ImportOptions &options);

/// Imports a model in ONNX text syntax held in memory.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxText(mlir::MLIRContext &ctx,
                                                 llvm::StringRef text,
                                                 const ImportOptions &options);

/// Imports a model held in memory (binary protobuf or ONNX text syntax).
mlir::OwningOpRef<mlir::ModuleOp> importOnnxBytes(mlir::MLIRContext &ctx,
                                                  llvm::StringRef bytes,
                                                  const ImportOptions &options);

/// A graph input as the model declares it (initializers excluded). A dim
/// of -1 is symbolic (its dim_param in dimNames) or unknown (name empty);
/// `hasShape` is false for an input declared without any shape.
struct DeclaredInput {
  std::string name;
  int32_t dtype = 0;
  bool hasShape = true;
  std::vector<int64_t> dims;
  std::vector<std::string> dimNames;
};

/// The graph inputs a model declares, in order, read without importing
/// it (binary protobuf or ONNX text syntax). A model with a symbolic dim
/// compiles once per set of concrete shapes (ImportOptions::inputShapes).
llvm::Expected<std::vector<DeclaredInput>> readDeclaredInputs(llvm::StringRef bytes);
/// readDeclaredInputs of a model file.
llvm::Expected<std::vector<DeclaredInput>> readDeclaredInputsFile(llvm::StringRef path);

/// Reads a serialized ONNX TensorProto (the backend tests' input_N.pb).
llvm::Expected<HostTensor> readTensorFile(llvm::StringRef path);

/// Registers the dialects the importer creates ops of.
void registerImportDialects(mlir::MLIRContext &ctx);

/// An ONNX op (default domain) that Kiln imports, and the versions of it
/// (the opsets in which it changed) that the importer reads.
struct SupportedOnnxOp {
  std::string name;
  std::vector<int> versions;
};
/// Every supported op, by name.
std::vector<SupportedOnnxOp> supportedOnnxOps();

} // namespace kiln

#endif // KILN_IMPORT_ONNXIMPORTER_H
