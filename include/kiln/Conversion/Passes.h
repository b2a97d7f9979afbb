//===- Passes.h - Kiln conversion passes -----------------------*- C++ -*-===//
#ifndef KILN_CONVERSION_PASSES_H
#define KILN_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
class TypeConverter;
} // namespace mlir

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Conversion/Passes.h.inc"

/// Patterns lowering kiln ops to linalg/tensor/arith/math, by op family.
void populatePointwiseToLinalgPatterns(const mlir::TypeConverter &converter,
                          mlir::RewritePatternSet &patterns);
void populateContractionToLinalgPatterns(const mlir::TypeConverter &converter,
                          mlir::RewritePatternSet &patterns);
void populateDataMovementToLinalgPatterns(const mlir::TypeConverter &converter,
                          mlir::RewritePatternSet &patterns);
void populateReductionToLinalgPatterns(const mlir::TypeConverter &converter,
                          mlir::RewritePatternSet &patterns);
void populateWindowToLinalgPatterns(const mlir::TypeConverter &converter,
                          mlir::RewritePatternSet &patterns);

} // namespace kiln

#endif // KILN_CONVERSION_PASSES_H
