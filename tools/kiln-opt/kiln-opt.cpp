//===- kiln-opt.cpp - MLIR optimizer driver with Kiln registered ---------===//
#include "kiln/Dialect/Kiln/KilnOps.h"
#include "kiln/Dialect/KilnGPU/KilnGPU.h"
#include "kiln/Codegen/CPU/Passes.h"
#include "kiln/Codegen/Common/Passes.h"
#include "kiln/Codegen/Emulation/Passes.h"
#include "kiln/Codegen/GPU/Passes.h"
#include "kiln/Conversion/Passes.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  kiln::registerKilnCodegenCommonPasses();
  kiln::registerKilnCodegenCPUPasses();
  kiln::registerKilnCodegenGPUPasses();
  kiln::registerKilnCodegenEmulationPasses();
  kiln::registerKilnConversionPasses();
  kiln::registerKilnTransformsPasses();
  kiln::registerKilnPipelines();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<kiln::KilnDialect, kiln::KilnGPUDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Kiln optimizer driver\n", registry));
}
