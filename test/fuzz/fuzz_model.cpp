//===- fuzz_model.cpp - fuzz the binary ONNX model path -------------------===//
//
// bytes -> protobuf -> Kiln's checks -> libonnx checker and shape inference
// -> import -> verify. Any input must end in a module or in diagnostics.
//
//===----------------------------------------------------------------------===//
#include "kiln/Import/OnnxImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext ctx(mlir::MLIRContext::Threading::DISABLED);
  mlir::ScopedDiagnosticHandler quiet(&ctx, [](mlir::Diagnostic &) { return mlir::success(); });
  kiln::ImportOptions options;
  // A model may ask for huge tensors; the limit keeps a fuzz run's memory
  // bounded the way --max-tensor-bytes does for users.
  options.maxTensorBytes = 64 << 20;
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  (void)kiln::importOnnxBinary(ctx, bytes, options);
  return 0;
}
