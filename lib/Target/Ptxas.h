//===- Ptxas.h - where ptxas is (lib/Target internal) ----------*- C++ -*-===//
#ifndef KILN_LIB_TARGET_PTXAS_H
#define KILN_LIB_TARGET_PTXAS_H

#include <optional>
#include <string>

namespace kiln {
/// ptxas from PATH, CUDA_HOME/bin (or CUDA_ROOT, CUDA_PATH) or
/// /usr/local/cuda/bin; nullopt when none is installed.
std::optional<std::string> findPtxasTool();
} // namespace kiln

#endif // KILN_LIB_TARGET_PTXAS_H
