//===- TensorIO.h - reading, generating and comparing host tensors -*- C++ -*-===//
#ifndef KILN_TOOLS_KILNRUN_TENSORIO_H
#define KILN_TOOLS_KILNRUN_TENSORIO_H

#include "kiln/Import/OnnxImporter.h"
#include "kiln/Target/CpuJit.h"

#include "llvm/Support/Error.h"

#include <random>

namespace kiln {

/// Reads a .npy (little-endian, C order) or a serialized TensorProto (.pb).
llvm::Expected<HostTensor> readTensor(llvm::StringRef path);

/// A tensor of `spec` filled with seeded random values: floats in [-1, 1),
/// integers in [0, 4), booleans.
HostTensor randomTensor(const TensorSpec &spec, std::mt19937 &rng);

/// Element `i` of a tensor as a double (floats of every width, integers,
/// booleans).
double elementAsDouble(const HostTensor &t, int64_t i);

struct Comparison {
  double maxAbsError = 0, maxRelError = 0;
  int64_t mismatches = 0;
  int64_t firstMismatch = -1;
};

/// Compares `actual` with `expected` elementwise:
/// |a - e| <= atol + rtol * |e|, NaN matching NaN; integers must be equal.
Comparison compareTensors(const HostTensor &actual, const HostTensor &expected,
                          double rtol, double atol);

} // namespace kiln

#endif // KILN_TOOLS_KILNRUN_TENSORIO_H
