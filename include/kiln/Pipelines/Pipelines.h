//===- Pipelines.h - Kiln's named pass pipelines ---------------*- C++ -*-===//
#ifndef KILN_PIPELINES_PIPELINES_H
#define KILN_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace kiln {

/// Cleans freshly imported kiln IR: folds constants and shape computations,
/// removes dead and duplicate ops.
void buildImportCleanupPipeline(mlir::OpPassManager &pm);

/// Registers every Kiln pipeline with the global pass registry (kiln-opt).
void registerKilnPipelines();

} // namespace kiln

#endif // KILN_PIPELINES_PIPELINES_H
