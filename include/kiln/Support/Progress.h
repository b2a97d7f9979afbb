//===- Progress.h - a status line for long compilations ---------*- C++ -*-===//
//
// kilnc shows where a compilation is (its stage, the pass running, the
// kernels, the time so far) on one line of a terminal, rewritten in place,
// once the compilation has taken a second. Nothing is printed when stderr is
// not a terminal, with --quiet, or when no tool turned it on: the library
// calls below then cost an atomic load.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_SUPPORT_PROGRESS_H
#define KILN_SUPPORT_PROGRESS_H

#include "llvm/ADT/StringRef.h"

namespace mlir {
class PassManager;
} // namespace mlir

namespace kiln::progress {

/// Starts the status line for `tool` when `enable` (the caller checks the
/// terminal and --quiet). The first line appears after `delaySeconds`
/// (KILN_PROGRESS_AFTER overrides it, for tests).
void start(llvm::StringRef tool, bool enable, double delaySeconds = 1.0);
/// Clears the line and stops updating it.
void stop();
/// Clears the line now (before an error message); it comes back with the
/// next update.
void clear();

void stage(llvm::StringRef name);
/// The number of kernel groups, once the partition is known.
void kernels(int count);
/// A pass starts (counted, its name shown).
void pass(llvm::StringRef name);
/// While a Pause lives the line is cleared and not drawn (a child process
/// that writes to the terminal runs).
void suspend();
void resume();
struct Pause {
  Pause() { suspend(); }
  ~Pause() { resume(); }
};

/// Whether a status line is active.
bool active();

/// Adds an instrumentation that reports every pass `pm` runs (a no-op when
/// no status line is active).
void instrument(mlir::PassManager &pm);

/// Clears the line and stops it when it goes out of scope.
struct Scope {
  Scope(llvm::StringRef tool, bool enable) { start(tool, enable); }
  ~Scope() { stop(); }
};

} // namespace kiln::progress

#endif // KILN_SUPPORT_PROGRESS_H
