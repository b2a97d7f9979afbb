//===- fuzz_text.cpp - fuzz the ONNX text syntax path ---------------------===//
//
// text -> libonnx's parser -> the same checks and import as binary models.
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
  options.maxTensorBytes = 64 << 20;
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  (void)kiln::importOnnxText(ctx, text, options);
  return 0;
}
