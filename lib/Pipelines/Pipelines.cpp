//===- Pipelines.cpp - Kiln's named pass pipelines -----------------------===//
#include "kiln/Pipelines/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void kiln::buildImportCleanupPipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void kiln::registerKilnPipelines() {
  PassPipelineRegistration<>(
      "kiln-import-cleanup",
      "Fold constants and shape computations of imported kiln IR, then "
      "remove dead and duplicate ops",
      [](OpPassManager &pm) { buildImportCleanupPipeline(pm); });
}
