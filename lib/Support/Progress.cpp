//===- Progress.cpp - a status line for long compilations ----------------===//
#include "kiln/Support/Progress.h"

#include "mlir/IR/Operation.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>

namespace kiln::progress {
namespace {

struct State {
  std::mutex mutex;
  std::condition_variable wake;
  std::thread thread;
  bool stopping = false;
  bool shown = false; // a line is on the terminal now
  std::string tool, stage, pass;
  long passes = 0;
  int paused = 0;
  int kernels = -1;
  std::chrono::steady_clock::time_point begin, first; // start; first draw
};

std::atomic<bool> running{false};
State &state() {
  static State s;
  return s;
}

/// Writes the line (caller holds the mutex).
void draw(State &s) {
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - s.begin).count();
  std::string line = s.tool + ": " + (s.stage.empty() ? "compiling" : s.stage);
  if (s.kernels >= 0)
    line += " \xc2\xb7 " + std::to_string(s.kernels) + " kernels";
  if (s.passes)
    line += " \xc2\xb7 pass " + std::to_string(s.passes) + (s.pass.empty() ? "" : " " + s.pass);
  char t[32];
  std::snprintf(t, sizeof t, " \xc2\xb7 %.1f s", elapsed);
  line += t;
  // One terminal line: cut long pass names rather than wrap.
  if (line.size() > 110)
    line = line.substr(0, 107) + "...";
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  s.shown = true;
}

void erase(State &s) {
  if (!s.shown)
    return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  s.shown = false;
}

struct Instrumentation : mlir::PassInstrumentation {
  void runBeforePass(mlir::Pass *p, mlir::Operation *) override {
    llvm::StringRef arg = p->getArgument();
    pass(arg.empty() ? p->getName() : arg);
  }
  void runAfterPass(mlir::Pass *p, mlir::Operation *op) override {
    if (p->getArgument() != "kiln-form-kernels")
      return;
    int count = 0;
    op->walk([&](mlir::Operation *inner) {
      count += inner->getName().getStringRef() == "kiln.kernel";
    });
    kernels(count);
  }
};

} // namespace

void start(llvm::StringRef tool, bool enable, double delaySeconds) {
  if (!enable || running.exchange(true))
    return;
  if (const char *v = std::getenv("KILN_PROGRESS_AFTER"))
    delaySeconds = std::atof(v);
  State &s = state();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.tool = tool.str();
    s.stopping = false;
    s.begin = std::chrono::steady_clock::now();
    s.first = s.begin + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(delaySeconds));
  }
  s.thread = std::thread([] {
    State &s = state();
    std::unique_lock<std::mutex> lock(s.mutex);
    if (s.wake.wait_until(lock, s.first, [&] { return s.stopping; }))
      return;
    while (!s.stopping) {
      if (!s.paused)
        draw(s);
      s.wake.wait_for(lock, std::chrono::milliseconds(200), [&] { return s.stopping; });
    }
  });
}

void stop() {
  if (!running.exchange(false))
    return;
  State &s = state();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.stopping = true;
  }
  s.wake.notify_all();
  if (s.thread.joinable())
    s.thread.join();
  std::lock_guard<std::mutex> lock(s.mutex);
  erase(s);
}

void clear() {
  if (!running)
    return;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  erase(s);
}

bool active() { return running; }

void suspend() {
  if (!running)
    return;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  ++s.paused;
  erase(s);
}

void resume() {
  if (!running)
    return;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.paused)
    --s.paused;
}

void stage(llvm::StringRef name) {
  if (!running)
    return;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.stage = name.str();
  s.pass.clear();
  // A new stage shows at once (once the line is due), not at the next tick.
  if (!s.paused && std::chrono::steady_clock::now() >= s.first)
    draw(s);
}

void kernels(int count) {
  if (!running)
    return;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.kernels = count;
}

void pass(llvm::StringRef name) {
  if (!running)
    return;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  ++s.passes;
  s.pass = name.str();
}

void instrument(mlir::PassManager &pm) {
  if (running)
    pm.addInstrumentation(std::make_unique<Instrumentation>());
}

} // namespace kiln::progress
