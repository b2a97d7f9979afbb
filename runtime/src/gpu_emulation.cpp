//===- gpu_emulation.cpp - run GPU kernels thread by thread on the CPU ----===//
//
// GPU emulation mode compiles each GPU kernel for the host as a function of
// one GPU thread. This file launches such kernels: every block of the grid
// runs on the calling CPU thread, its GPU threads as fibers with their own
// stacks. A fiber runs until it reaches a barrier (gpu.barrier) or a warp
// collective (gpu.shuffle); the scheduler then runs the other fibers, and
// releases a barrier once every thread of the block waits at it, a warp
// collective once every lane of the warp does. Shared memory is one buffer
// per block, filled with 0xff bytes (NaN for floats) before each block, so
// that reading what no thread of the block wrote gives wrong numbers.
//
// Kernels without barriers and warp collectives run their threads as plain
// calls, one after the other, which is much cheaper.
//
// Misuse that a GPU would turn into a hang or undefined results (a barrier
// that only some threads of a block reach, a warp shuffle that only some
// lanes reach) is reported as an error of the model run
// (kiln_emu_take_error), and the remaining launches of the run are skipped.
//
//===----------------------------------------------------------------------===//

#include "kiln_emulation_abi.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <ucontext.h>

#if defined(__x86_64__)
// A fiber switch saves the callee-saved registers and the floating-point
// control words on the current stack, stores the stack pointer to *save
// and continues on the stack `next` (glibc's swapcontext also saves the
// signal mask with a system call, which makes it a hundred times slower).
extern "C" void kiln_emu_switch(void **save, void *next);
asm(R"(
  .text
  .p2align 4
  .globl kiln_emu_switch
  .hidden kiln_emu_switch
  .type kiln_emu_switch,@function
kiln_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size kiln_emu_switch,.-kiln_emu_switch
)");
#define KILN_EMU_FAST_SWITCH 1
#endif

namespace {

/// What a kernel reads about its thread. The compiled kernel loads these
/// fields as int64 slots by the indices of kiln_emulation_abi.h, so each
/// field must sit at its slot's offset; the asserts below keep the names
/// here and the indices there in step.
struct ThreadContext {
  int64_t tid[3];
  int64_t bid[3];
  int64_t bdim[3];
  int64_t gdim[3];
  int64_t staticSharedOffset;
  int64_t lane;
  void *shared;
  int64_t sharedBytes;
};
#define KILN_EMU_CHECK_SLOT(field, slot)                                                    \
  static_assert(offsetof(ThreadContext, field) == (slot) * sizeof(int64_t),                \
                "ThreadContext::" #field " is not at " #slot " (kiln_emulation_abi.h)")
KILN_EMU_CHECK_SLOT(tid, KILN_EMU_SLOT_THREAD_ID_X);
KILN_EMU_CHECK_SLOT(bid, KILN_EMU_SLOT_BLOCK_ID_X);
KILN_EMU_CHECK_SLOT(bdim, KILN_EMU_SLOT_BLOCK_DIM_X);
KILN_EMU_CHECK_SLOT(gdim, KILN_EMU_SLOT_GRID_DIM_X);
KILN_EMU_CHECK_SLOT(staticSharedOffset, KILN_EMU_SLOT_STATIC_SHARED_OFFSET);
KILN_EMU_CHECK_SLOT(lane, KILN_EMU_SLOT_LANE_ID);
KILN_EMU_CHECK_SLOT(shared, KILN_EMU_SLOT_SHARED_BASE);
KILN_EMU_CHECK_SLOT(sharedBytes, KILN_EMU_SLOT_SHARED_BYTES);
#undef KILN_EMU_CHECK_SLOT
static_assert(sizeof(void *) == sizeof(int64_t), "the shared base pointer fills one slot");
static_assert(sizeof(ThreadContext) == KILN_EMU_SLOT_COUNT * sizeof(int64_t),
              "ThreadContext has a field that kiln_emulation_abi.h does not name");

using KernelThunk = void (*)(void *slots, ThreadContext *ctx);

enum class FiberState { Ready, AtBarrier, AtWarpSync, Done };

struct Warp {
  // Values offered to a shuffle, double-buffered by the parity of the
  // warp's collective count: a lane released from collective n reads slot
  // n % 2 while faster lanes already write collective n + 1 into the other.
  uint32_t values[2][32];
  uint64_t generation = 0;
  // mma.sync fragments, double-buffered the same way: per lane A at 0..7,
  // B at 8..11, C at 12..15 (f32), the kind of mma each lane asked for, and
  // the generation whose D fragments `frags[..][..][12..15]` hold.
  float frags[2][32][16];
  int32_t mmaKind[2][32];
  uint64_t mmaDone[2] = {0, 0};
};

struct Fiber {
  ThreadContext ctx; // first member: kernels pass &ctx, the runtime casts back
#ifdef KILN_EMU_FAST_SWITCH
  void *sp = nullptr;
#else
  ucontext_t context;
#endif
  FiberState state = FiberState::Ready;
  uint64_t parity = 0;
};

struct BlockRun;
thread_local BlockRun *currentBlock = nullptr;
thread_local Fiber *currentFiber = nullptr;

std::mutex errorMutex;
std::string pendingError;

void reportError(const std::string &message) {
  std::lock_guard<std::mutex> lock(errorMutex);
  if (pendingError.empty())
    pendingError = message;
}

bool hasError() {
  std::lock_guard<std::mutex> lock(errorMutex);
  return !pendingError.empty();
}

std::string blockName(const int64_t bid[3]) {
  return "(" + std::to_string(bid[0]) + ", " + std::to_string(bid[1]) + ", " +
         std::to_string(bid[2]) + ")";
}

constexpr size_t kStackBytes = 256 * 1024;

/// The fibers of one block and the scheduler that runs them.
struct BlockRun {
  KernelThunk thunk = nullptr;
  void *slots = nullptr;
  std::vector<Fiber> fibers;
  std::vector<Warp> warps;
  std::vector<void *> stacks;
#ifdef KILN_EMU_FAST_SWITCH
  void *scheduler = nullptr;
#else
  ucontext_t scheduler;
#endif

  ~BlockRun() {
    for (void *s : stacks)
      munmap(s, kStackBytes);
  }

  static void fiberMain() {
    BlockRun *run = currentBlock;
    Fiber *f = currentFiber;
    run->thunk(run->slots, &f->ctx);
    f->state = FiberState::Done;
#ifdef KILN_EMU_FAST_SWITCH
    // Never resumed: the scheduler starts a fresh stack for the next block.
    kiln_emu_switch(&f->sp, run->scheduler);
    __builtin_unreachable();
#endif
    // (ucontext) uc_link returns to the scheduler.
  }

  /// Makes fiber i start at fiberMain on its stack.
  void start(size_t i) {
    Fiber &f = fibers[i];
#ifdef KILN_EMU_FAST_SWITCH
    // The frame kiln_emu_switch pops: control words, r15..rbp, the return
    // address (fiberMain), then fiberMain's own (never used) return slot,
    // with the stack pointer 8 mod 16 on entry as after a call.
    uintptr_t top = ((uintptr_t)stacks[i] + kStackBytes) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - 72);
    uint32_t mxcsr;
    uint16_t fcw;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(fcw));
    sp[0] = (uint64_t)mxcsr | ((uint64_t)fcw << 32);
    for (int r = 1; r <= 6; ++r)
      sp[r] = 0;
    sp[7] = (uint64_t)(uintptr_t)&BlockRun::fiberMain;
    sp[8] = 0;
    f.sp = sp;
#else
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = stacks[i];
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = &scheduler;
    makecontext(&f.context, &BlockRun::fiberMain, 0);
#endif
  }

  /// From fiber f back to the scheduler.
  void yield(Fiber &f) {
#ifdef KILN_EMU_FAST_SWITCH
    kiln_emu_switch(&f.sp, scheduler);
#else
    swapcontext(&f.context, &scheduler);
#endif
  }

  bool prepare(size_t threads) {
    fibers.resize(threads);
    warps.resize((threads + 31) / 32);
    while (stacks.size() < threads) {
      void *s = mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (s == MAP_FAILED) {
        reportError("GPU emulation: cannot allocate a stack for " +
                    std::to_string(threads) + " threads");
        return false;
      }
      stacks.push_back(s);
    }
    return true;
  }

  void resume(Fiber &f) {
    currentFiber = &f;
#ifdef KILN_EMU_FAST_SWITCH
    kiln_emu_switch(&scheduler, f.sp);
#else
    swapcontext(&scheduler, &f.context);
#endif
    currentFiber = nullptr;
  }

  /// Runs one block to completion; false after an error.
  bool runBlock() {
    size_t n = fibers.size();
    for (size_t i = 0; i < n; ++i) {
      fibers[i].state = FiberState::Ready;
      start(i);
    }
    for (Warp &w : warps) {
      w.generation = 0;
      w.mmaDone[0] = w.mmaDone[1] = 0;
    }
    const int64_t *bid = fibers.front().ctx.bid;
    for (;;) {
      for (Fiber &f : fibers)
        if (f.state == FiberState::Ready)
          resume(f);
      size_t done = 0, atBarrier = 0;
      for (Fiber &f : fibers) {
        done += f.state == FiberState::Done;
        atBarrier += f.state == FiberState::AtBarrier;
      }
      if (done == n)
        return true;
      bool released = false;
      for (size_t w = 0; w < warps.size(); ++w) {
        size_t lo = w * 32, hi = std::min(n, lo + 32);
        size_t waiting = 0, exited = 0;
        for (size_t i = lo; i < hi; ++i) {
          waiting += fibers[i].state == FiberState::AtWarpSync;
          exited += fibers[i].state == FiberState::Done;
        }
        if (waiting == 0 || waiting + exited != hi - lo)
          continue;
        if (exited) {
          reportError("GPU emulation: in block " + blockName(bid) + ", warp " +
                      std::to_string(w) + " reaches a warp collective (shuffle, mma.sync) with " + std::to_string(waiting) +
                      " lanes while " + std::to_string(exited) + " lanes have exited");
          return false;
        }
        for (size_t i = lo; i < hi; ++i)
          fibers[i].state = FiberState::Ready;
        ++warps[w].generation;
        released = true;
      }
      if (released)
        continue;
      if (atBarrier == n - done) {
        if (done) {
          reportError("GPU emulation: in block " + blockName(bid) + ", " +
                      std::to_string(atBarrier) + " of " + std::to_string(n) +
                      " threads wait at a barrier that the other " +
                      std::to_string(done) + " threads never reach (they exited)");
          return false;
        }
        for (Fiber &f : fibers)
          f.state = FiberState::Ready;
        continue;
      }
      reportError("GPU emulation: deadlock in block " + blockName(bid) + ": " +
                  std::to_string(atBarrier) +
                  " threads wait at a barrier while others of their warps wait "
                  "at a warp shuffle");
      return false;
    }
  }
};

void setIds(ThreadContext &c, int64_t x, int64_t y, int64_t z) {
  c.tid[0] = x;
  c.tid[1] = y;
  c.tid[2] = z;
  c.lane = (x + c.bdim[0] * (y + c.bdim[1] * z)) % 32;
}

} // namespace

/// Returns and clears the first error of the launches since the last call
/// (empty: none). kiln_model_run turns it into the run's error.
std::string kilnEmuTakeError() {
  std::lock_guard<std::mutex> lock(errorMutex);
  std::string e;
  e.swap(pendingError);
  return e;
}

extern "C" {

/// Launches `thunk` on a grid of blocks of threads; `flags` bit 0 says that
/// the kernel synchronizes (barriers, warp shuffles) and needs fibers.
/// `slots` holds the kernel's arguments, passed through to every thread.
void kiln_emu_launch(KernelThunk thunk, void *slots, int64_t staticSharedBytes,
                     int64_t flags, int64_t gx, int64_t gy, int64_t gz, int64_t bx,
                     int64_t by, int64_t bz, int64_t dynamicSharedBytes) {
  if (hasError())
    return;
  if (bx <= 0 || by <= 0 || bz <= 0 || bx * by * bz > 1024 || gx < 0 || gy < 0 ||
      gz < 0 || dynamicSharedBytes < 0) {
    reportError("GPU emulation: invalid launch: grid (" + std::to_string(gx) + ", " +
                std::to_string(gy) + ", " + std::to_string(gz) + "), block (" +
                std::to_string(bx) + ", " + std::to_string(by) + ", " +
                std::to_string(bz) + ") (at most 1024 threads per block)");
    return;
  }
  int64_t staticOffset = (dynamicSharedBytes + 15) / 16 * 16;
  int64_t sharedBytes = staticOffset + staticSharedBytes;
  std::vector<unsigned char> shared(sharedBytes > 0 ? sharedBytes + 64 : 0);
  void *sharedBase = nullptr;
  if (sharedBytes > 0) {
    uintptr_t p = (uintptr_t)shared.data();
    sharedBase = (void *)((p + 63) / 64 * 64);
  }
  ThreadContext base{};
  base.bdim[0] = bx, base.bdim[1] = by, base.bdim[2] = bz;
  base.gdim[0] = gx, base.gdim[1] = gy, base.gdim[2] = gz;
  base.staticSharedOffset = staticOffset;
  base.shared = sharedBase;
  base.sharedBytes = sharedBytes;
  bool synchronizes = flags & 1;
  BlockRun run;
  run.thunk = thunk;
  run.slots = slots;
  if (synchronizes && !run.prepare((size_t)(bx * by * bz)))
    return;
  for (int64_t z = 0; z < gz; ++z)
    for (int64_t y = 0; y < gy; ++y)
      for (int64_t x = 0; x < gx; ++x) {
        base.bid[0] = x, base.bid[1] = y, base.bid[2] = z;
        if (sharedBase)
          memset(sharedBase, 0xff, (size_t)sharedBytes);
        if (!synchronizes) {
          ThreadContext c = base;
          for (int64_t tz = 0; tz < bz; ++tz)
            for (int64_t ty = 0; ty < by; ++ty)
              for (int64_t tx = 0; tx < bx; ++tx) {
                setIds(c, tx, ty, tz);
                thunk(slots, &c);
              }
          continue;
        }
        size_t i = 0;
        for (int64_t tz = 0; tz < bz; ++tz)
          for (int64_t ty = 0; ty < by; ++ty)
            for (int64_t tx = 0; tx < bx; ++tx) {
              run.fibers[i].ctx = base;
              setIds(run.fibers[i].ctx, tx, ty, tz);
              ++i;
            }
        BlockRun *outer = currentBlock;
        currentBlock = &run;
        bool ok = run.runBlock();
        currentBlock = outer;
        if (!ok)
          return;
      }
}

/// gpu.barrier: waits until every thread of the block arrives.
void kiln_emu_barrier(ThreadContext *ctx) {
  Fiber *f = reinterpret_cast<Fiber *>(ctx);
  if (f != currentFiber) {
    reportError("GPU emulation: a kernel with a barrier ran without fibers");
    return;
  }
  f->state = FiberState::AtBarrier;
  currentBlock->yield(*f);
}

/// gpu.shuffle of a 32-bit value with the PTX shfl.sync semantics of the
/// NVVM lowering (mode 0 xor, 1 up, 2 down, 3 idx; lanes [0, width)).
/// Returns the value in the low 32 bits and the validity in bit 32.
int64_t kiln_emu_shuffle(ThreadContext *ctx, int32_t value, int32_t offset,
                         int32_t width, int32_t mode) {
  Fiber *f = reinterpret_cast<Fiber *>(ctx);
  if (f != currentFiber) {
    reportError("GPU emulation: a kernel with a warp shuffle ran without fibers");
    return value;
  }
  BlockRun *run = currentBlock;
  size_t index = f - run->fibers.data();
  Warp &warp = run->warps[index / 32];
  int64_t lane = (int64_t)(index % 32);
  uint64_t parity = warp.generation & 1;
  warp.values[parity][lane] = (uint32_t)value;
  warp.mmaKind[parity][lane] = -1; // a shuffle, not an mma
  f->state = FiberState::AtWarpSync;
  run->yield(*f);
  int64_t clamp = mode == 1 ? 32 - width : width - 1;
  int64_t j;
  bool valid;
  switch (mode) {
  case 0: j = lane ^ offset; valid = j <= clamp; break;
  case 1: j = lane - offset; valid = j >= clamp; break;
  case 2: j = lane + offset; valid = j <= clamp; break;
  default: j = offset & 31; valid = j <= clamp; break;
  }
  size_t lanes = std::min<size_t>(32, run->fibers.size() - index / 32 * 32);
  if (!valid || j < 0 || j >= (int64_t)lanes)
    j = lane;
  uint32_t result = warp.values[parity][j];
  return (int64_t)result | ((int64_t)valid << 32);
}

/// The bf16 value a tensor core reads from a register holding `v`: the
/// upper 16 bits of the f32 encoding after rounding to nearest even (NaNs
/// stay NaN). Exact for values that came from bf16.
static float roundToBf16(float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    bits |= 0x00400000u; // quiet NaN
  else
    bits += 0x7fffu + ((bits >> 16) & 1);
  bits &= 0xffff0000u;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/// Computes D = A * B + C of one m16n8 warp tile from the 32 lanes'
/// fragments (PTX ISA mma.sync layouts, groupID g = lane >> 2,
/// threadID_in_group t = lane % 4) and writes each lane's D fragment over
/// its C fragment. Kind 0: m16n8k16 .f16 and kind 2: m16n8k16 .bf16 (one
/// fragment layout, inputs given as f32; bf16 operands are read as bf16);
/// kind 1: m16n8k8 .tf32. Products and sums in f32, k ascending.
static void mmaTile(float (*frags)[16], int32_t kind) {
  const bool k16 = kind == 0 || kind == 2;
  const int K = k16 ? 16 : 8;
  float a[16][16], b[16][8], c[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    float f[16];
    memcpy(f, frags[lane], sizeof f);
    if (kind == 2)
      for (int i = 0; i < 12; ++i)
        f[i] = roundToBf16(f[i]);
    int g = lane >> 2, t = lane % 4;
    if (k16) {
      // a0..a7: row g + 8 * (i / 2 % 2), column 2t + i % 2 + 8 * (i / 4).
      for (int i = 0; i < 8; ++i)
        a[g + 8 * (i / 2 % 2)][2 * t + i % 2 + 8 * (i / 4)] = f[i];
      // b0..b3: row (k) 2t + i % 2 + 8 * (i / 2), column g.
      for (int i = 0; i < 4; ++i)
        b[2 * t + i % 2 + 8 * (i / 2)][g] = f[8 + i];
    } else {
      // a0..a3: row g + 8 * (i % 2), column t + 4 * (i / 2).
      for (int i = 0; i < 4; ++i)
        a[g + 8 * (i % 2)][t + 4 * (i / 2)] = f[i];
      // b0, b1: row (k) t + 4 * i, column g.
      for (int i = 0; i < 2; ++i)
        b[t + 4 * i][g] = f[8 + i];
    }
    // c0..c3: row g + 8 * (i / 2), column 2t + i % 2.
    for (int i = 0; i < 4; ++i)
      c[g + 8 * (i / 2)][2 * t + i % 2] = f[12 + i];
  }
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      float acc = c[m][n];
      for (int k = 0; k < K; ++k)
        acc = acc + a[m][k] * b[k][n];
      c[m][n] = acc;
    }
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane >> 2, t = lane % 4;
    for (int i = 0; i < 4; ++i)
      frags[lane][12 + i] = c[g + 8 * (i / 2)][2 * t + i % 2];
  }
}

/// nvgpu.mma.sync as a warp collective: `frag` holds the lane's 16 floats
/// (see mmaTile); on return frag[12..15] is the lane's D fragment. Every
/// lane of a full warp must take part with the same kind.
void kiln_emu_mma(ThreadContext *ctx, int32_t kind, float *frag) {
  Fiber *f = reinterpret_cast<Fiber *>(ctx);
  if (f != currentFiber) {
    reportError("GPU emulation: a kernel with mma.sync ran without fibers");
    return;
  }
  if (kind < 0 || kind > 2) {
    reportError("GPU emulation: unknown mma.sync kind " + std::to_string(kind));
    return;
  }
  BlockRun *run = currentBlock;
  size_t index = f - run->fibers.data();
  Warp &warp = run->warps[index / 32];
  size_t lane = index % 32;
  uint64_t gen = warp.generation;
  uint64_t parity = gen & 1;
  memcpy(warp.frags[parity][lane], frag, sizeof(float) * 16);
  warp.mmaKind[parity][lane] = kind;
  f->state = FiberState::AtWarpSync;
  run->yield(*f);
  if (hasError())
    return;
  if (warp.mmaDone[parity] != gen + 1) {
    // The first lane to resume after the warp's release computes the tile.
    size_t lanes = std::min<size_t>(32, run->fibers.size() - index / 32 * 32);
    bool same = lanes == 32;
    for (size_t i = 0; same && i < 32; ++i)
      same = warp.mmaKind[parity][i] == kind;
    if (!same) {
      reportError("GPU emulation: in block " + blockName(f->ctx.bid) + ", warp " +
                  std::to_string(index / 32) +
                  " runs mma.sync without all 32 lanes on the same mma shape "
                  "(or with lanes at another warp collective)");
      return;
    }
    mmaTile(warp.frags[parity], kind);
    warp.mmaDone[parity] = gen + 1;
  }
  memcpy(frag + 12, warp.frags[parity][lane] + 12, sizeof(float) * 4);
}

/// For programs that launch emulated kernels directly: prints a pending
/// error to stderr and returns 1, or returns 0.
int64_t kiln_emu_check(void) {
  std::string e = kilnEmuTakeError();
  if (e.empty())
    return 0;
  fprintf(stderr, "%s\n", e.c_str());
  return 1;
}
}
