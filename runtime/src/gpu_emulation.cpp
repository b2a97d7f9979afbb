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
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
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
  // ldmatrix: each lane's row address (a byte address in shared memory),
  // the four 32-bit registers each lane receives, and the generation they
  // belong to.
  uint64_t rowAddr[2][32];
  uint32_t ldm[2][32][4];
  uint64_t ldmDone[2] = {0, 0};
};

/// One cp.async in flight: `bytes` written at `dst` when its group is
/// waited on, the first `srcBytes` read from `src`, the rest zero.
struct AsyncCopy {
  unsigned char *dst;
  const unsigned char *src;
  int32_t bytes, srcBytes;
  uint64_t group; // the thread's commit count when the copy was issued
};

/// What the checker knows about one 4-byte word of shared memory: how many
/// async copies to it are in flight, and the barrier interval (epoch) and
/// warp of its last write and of its reads (-2: several warps).
struct ShadowWord {
  uint32_t pending;
  uint32_t writeEpoch;
  int32_t writeWarp;
  uint32_t readEpoch;
  int32_t readWarp;
  uint8_t writeMask, readMask; // the word's bytes written (read) in those epochs
};

/// Bank-conflict figures of one shared-memory instruction (a site), summed
/// over the warps that ran it: warp-wide executions, the wavefronts they
/// took (one per 128-byte conflict-free access of the 32 banks) and the
/// least that their bytes need.
struct SiteStats {
  uint64_t executions = 0, wavefronts = 0, ideal = 0;
};

/// The lanes of one warp at the n-th execution of a site.
struct WarpAccess {
  uint64_t addr[32];
  int32_t bytes[32];
  uint32_t lanes = 0; // bit mask
  bool rows = false;  // ldmatrix: 8-row tiles of 16 bytes
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
  std::vector<AsyncCopy> pending; // cp.async not yet waited on
  uint64_t committed = 0;         // cp.async groups committed
};

struct BlockRun;
thread_local BlockRun *currentBlock = nullptr;
thread_local Fiber *currentFiber = nullptr;

std::mutex errorMutex;
std::string pendingError;

// Shared-memory checks (kiln_emu_set_checks): bank-conflict counts per
// instruction and race detection, on top of the async-copy checks that
// always run. Results accumulate until kiln_emu_report_reset.
bool checksOn = [] {
  const char *v = getenv("KILN_EMU_CHECKS");
  return v && *v && strcmp(v, "0") != 0;
}();
std::mutex reportMutex;
std::map<std::string, SiteStats> siteStats; // by site: "kernel\top\tlocation"
uint64_t hazardCount = 0;
std::vector<std::string> hazardExamples;

// Whether pendingError is set: read on every emulated shared-memory access
// and collective, so an atomic rather than the mutex.
std::atomic<bool> errorPending{false};

void reportError(const std::string &message) {
  std::lock_guard<std::mutex> lock(errorMutex);
  if (pendingError.empty())
    pendingError = message;
  errorPending.store(true, std::memory_order_release);
}

bool hasError() { return errorPending.load(std::memory_order_acquire); }

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

  // Shared-memory checking (kernels whose shared accesses are
  // instrumented): the block's buffer, one shadow word per 4 bytes, the
  // barrier interval, and the warp accesses not yet complete.
  unsigned char *shared = nullptr;
  int64_t sharedBytes = 0;
  std::vector<ShadowWord> shadow;
  bool shadowDirty = false; // written since the last reset
  uint32_t epoch = 1;
  int64_t inFlight = 0; // cp.async copies issued and not yet waited on
  struct AccessKey {
    const char *site;
    uint64_t warp, occurrence;
    bool operator==(const AccessKey &o) const {
      return site == o.site && warp == o.warp && occurrence == o.occurrence;
    }
  };
  struct AccessKeyHash {
    size_t operator()(const AccessKey &k) const {
      return std::hash<const void *>()(k.site) ^ (k.warp * 0x9e3779b97f4a7c15ull) ^
             (k.occurrence * 0xc2b2ae3d27d4eb4full);
    }
  };
  std::unordered_map<AccessKey, WarpAccess, AccessKeyHash> accesses;
  // How often each (site, thread) ran, which pairs the n-th execution of a
  // site by one lane with the n-th by the other lanes of its warp.
  std::unordered_map<const char *, std::vector<uint64_t>> occurrences;
  std::map<std::string, SiteStats> localStats;

  ~BlockRun() {
    for (void *s : stacks)
      munmap(s, kStackBytes);
  }

  int32_t warpOf(const Fiber &f) const { return (int32_t)((&f - fibers.data()) / 32); }

  /// The shadow words of bytes [addr, addr + bytes), or false (with an
  /// error) when they are not in the block's shared memory.
  bool wordRange(const char *site, uint64_t addr, int64_t bytes, const Fiber &f,
                 size_t &first, size_t &last) {
    uint64_t base = (uint64_t)(uintptr_t)shared;
    if (!shared || addr < base || bytes <= 0 || addr + (uint64_t)bytes > base + sharedBytes) {
      reportError("GPU emulation: " + describeSite(site) + ": thread " + threadName(f) +
                  " accesses " + std::to_string(bytes) + " bytes outside the block's " +
                  std::to_string(sharedBytes) + " bytes of shared memory");
      return false;
    }
    first = (addr - base) / 4;
    last = (addr - base + bytes - 1) / 4;
    return true;
  }

  static std::string describeSite(const char *site) {
    std::string s = site ? site : "?";
    std::string kernel = s.substr(0, s.find('\t'));
    size_t a = s.find('\t');
    size_t b = a == std::string::npos ? a : s.find('\t', a + 1);
    std::string op = a == std::string::npos ? "" : s.substr(a + 1, b - a - 1);
    std::string where = b == std::string::npos ? "" : s.substr(b + 1);
    return "kernel " + kernel + ", " + op + (where.empty() ? "" : " at " + where);
  }

  std::string threadName(const Fiber &f) const {
    return std::to_string(&f - fibers.data()) + " of block " + blockName(f.ctx.bid);
  }

  void hazard(const std::string &message, bool fatal) {
    {
      std::lock_guard<std::mutex> lock(reportMutex);
      ++hazardCount;
      if (hazardExamples.size() < 20)
        hazardExamples.push_back(message);
    }
    if (fatal)
      reportError("GPU emulation: " + message);
  }

  /// A thread's read (write) of shared bytes: an error when an async copy
  /// to them is in flight; with checks on, a race when another warp wrote
  /// (read or wrote) them since the last barrier.
  void access(const char *site, uint64_t addr, int64_t bytes, bool write, Fiber &f) {
    shadowDirty = true;
    size_t first, last;
    if (!wordRange(site, addr, bytes, f, first, last))
      return;
    int32_t warp = warpOf(f);
    uint64_t offset = addr - (uint64_t)(uintptr_t)shared;
    for (size_t w = first; w <= last; ++w) {
      ShadowWord &s = shadow[w];
      // The bytes of this word that the access covers.
      uint64_t lo = std::max<uint64_t>(offset, w * 4), hi = std::min<uint64_t>(offset + bytes, w * 4 + 4);
      uint8_t mask = (uint8_t)(((1u << (hi - lo)) - 1) << (lo - w * 4));
      if (s.pending) {
        hazard(describeSite(site) + ": thread " + threadName(f) + (write ? " writes" : " reads") +
                   " shared byte " + std::to_string(offset) +
                   " while an asynchronous copy to it (cp.async) has not been waited on",
               true);
        return;
      }
      if (!checksOn)
        continue;
      if (s.writeEpoch == epoch && s.writeWarp != warp && (s.writeMask & mask)) {
        hazard(describeSite(site) + ": thread " + threadName(f) + (write ? " writes" : " reads") +
                   " shared byte " + std::to_string(offset) + " that " +
                   (s.writeWarp == -2 ? std::string("other warps")
                                      : "warp " + std::to_string(s.writeWarp)) +
                   " wrote with no barrier between",
               false);
        return;
      }
      if (write && s.readEpoch == epoch && s.readWarp != warp && (s.readMask & mask)) {
        hazard(describeSite(site) + ": thread " + threadName(f) + " writes shared byte " +
                   std::to_string(offset) + " that " +
                   (s.readWarp == -2 ? std::string("other warps") : "warp " + std::to_string(s.readWarp)) +
                   " may still read (no barrier since)",
               false);
        return;
      }
      // Warps that write (read) other bytes of the word in one epoch make
      // it a word of several warps (-2).
      if (write) {
        if (s.writeEpoch != epoch)
          s.writeEpoch = epoch, s.writeWarp = warp, s.writeMask = mask;
        else
          s.writeWarp = s.writeWarp == warp ? warp : -2, s.writeMask |= mask;
      } else if (s.readEpoch != epoch) {
        s.readEpoch = epoch, s.readWarp = warp, s.readMask = mask;
      } else {
        s.readWarp = s.readWarp == warp ? warp : -2, s.readMask |= mask;
      }
    }
  }

  /// Records lane `lane` of warp `warp` at the n-th execution of `site`.
  void record(const char *site, const Fiber &f, uint64_t addr, int32_t bytes, bool rows) {
    size_t index = &f - fibers.data();
    std::vector<uint64_t> &count = occurrences[site];
    if (count.size() < fibers.size())
      count.resize(fibers.size(), 0);
    AccessKey key{site, index / 32, count[index]++};
    WarpAccess &a = accesses[key];
    a.addr[index % 32] = addr;
    a.bytes[index % 32] = bytes;
    a.lanes |= 1u << (index % 32);
    a.rows = rows;
    size_t lanes = std::min<size_t>(32, fibers.size() - index / 32 * 32);
    if ((size_t)__builtin_popcount(a.lanes) == lanes) {
      finish(site, a);
      accesses.erase(key);
    }
  }

  /// The wavefronts of one warp-wide access: lanes in phases (all 32 for
  /// accesses of up to 4 bytes, 16 for 8 bytes, 8 for 16 bytes; ldmatrix:
  /// each tile of 8 rows), each phase as many wavefronts as the most
  /// distinct 4-byte words any one bank holds.
  void finish(const char *site, const WarpAccess &a) {
    SiteStats &st = localStats[site];
    st.executions++;
    int widest = 4;
    for (int l = 0; l < 32; ++l)
      if (a.lanes >> l & 1)
        widest = std::max(widest, (int)a.bytes[l]);
    int perPhase = a.rows ? 8 : widest <= 4 ? 32 : widest <= 8 ? 16 : 8;
    for (int p0 = 0; p0 < 32; p0 += perPhase) {
      std::vector<uint64_t> words[32];
      uint64_t distinctBytes = 0;
      bool any = false;
      for (int l = p0; l < p0 + perPhase; ++l) {
        if (!(a.lanes >> l & 1))
          continue;
        any = true;
        int64_t n = std::max<int64_t>(1, (a.bytes[l] + 3) / 4);
        for (int64_t w = 0; w < n; ++w) {
          uint64_t word = a.addr[l] / 4 + w;
          std::vector<uint64_t> &bank = words[word % 32];
          if (std::find(bank.begin(), bank.end(), word) == bank.end()) {
            bank.push_back(word);
            distinctBytes += 4;
          }
        }
      }
      if (!any)
        continue;
      size_t most = 1;
      for (auto &bank : words)
        most = std::max(most, bank.size());
      st.wavefronts += most;
      st.ideal += std::max<uint64_t>(1, (distinctBytes + 127) / 128);
    }
  }

  /// Completes the thread's copies of groups before `upTo`.
  void complete(Fiber &f, uint64_t upTo) {
    int32_t warp = warpOf(f);
    size_t kept = 0;
    for (size_t i = 0; i < f.pending.size(); ++i) {
      AsyncCopy &c = f.pending[i];
      if (c.group >= upTo) {
        f.pending[kept++] = c;
        continue;
      }
      memcpy(c.dst, c.src, (size_t)c.srcBytes);
      memset(c.dst + c.srcBytes, 0, (size_t)(c.bytes - c.srcBytes));
      size_t firstWord = (c.dst - shared) / 4, lastWord = (c.dst - shared + c.bytes - 1) / 4;
      for (size_t w = firstWord; w <= lastWord; ++w) {
        shadow[w].pending--;
        shadow[w].writeEpoch = epoch;
        shadow[w].writeWarp = warp;
        shadow[w].writeMask = 0xf;
      }
      --inFlight;
    }
    f.pending.resize(kept);
  }

  /// Block end: incomplete warp accesses (lanes that branched around a
  /// site) count with the lanes that ran; the figures go to the report.
  void flushStats() {
    for (auto &[key, a] : accesses)
      finish(key.site, a);
    accesses.clear();
    occurrences.clear();
    if (localStats.empty())
      return;
    std::lock_guard<std::mutex> lock(reportMutex);
    for (auto &[site, st] : localStats) {
      SiteStats &g = siteStats[site];
      g.executions += st.executions;
      g.wavefronts += st.wavefronts;
      g.ideal += st.ideal;
    }
    localStats.clear();
  }

  static void fiberMain() {
    BlockRun *run = currentBlock;
    Fiber *f = currentFiber;
    run->thunk(run->slots, &f->ctx);
    // Copies never waited on still land (nothing can read them).
    if (!f->pending.empty())
      run->complete(*f, UINT64_MAX);
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
      w.ldmDone[0] = w.ldmDone[1] = 0;
    }
    for (Fiber &f : fibers) {
      f.pending.clear();
      f.committed = 0;
    }
    epoch = 1;
    inFlight = 0;
    if (shadowDirty) {
      memset(shadow.data(), 0, shadow.size() * sizeof(ShadowWord));
      shadowDirty = false;
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
      if (done == n) {
        flushStats();
        return true;
      }
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
        ++epoch;
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
  errorPending.store(false, std::memory_order_release);
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
  // Bit 1: the kernel's shared-memory accesses call the checker (it then
  // also has bit 0 and runs on fibers).
  bool synchronizes = flags & 1;
  BlockRun run;
  run.thunk = thunk;
  run.slots = slots;
  run.shared = (unsigned char *)sharedBase;
  run.sharedBytes = sharedBytes;
  if ((flags & 2) && sharedBytes > 0)
    run.shadow.resize((size_t)(sharedBytes + 3) / 4);
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

static Fiber *checkedFiber(ThreadContext *ctx, const char *what) {
  Fiber *f = reinterpret_cast<Fiber *>(ctx);
  if (f != currentFiber || !currentBlock) {
    reportError(std::string("GPU emulation: a kernel with ") + what + " ran without fibers");
    return nullptr;
  }
  return f;
}

/// A lane at a warp collective: its warp, lane, and the generation (and
/// its parity) of the collective, whose double-buffered slots it uses.
struct WarpArrival {
  BlockRun *run;
  size_t index, lane;
  Warp &warp;
  uint64_t gen, parity;
};

WarpArrival arriving(Fiber *f) {
  BlockRun *run = currentBlock;
  size_t index = f - run->fibers.data();
  Warp &warp = run->warps[index / 32];
  return WarpArrival{run, index, index % 32, warp, warp.generation, warp.generation & 1};
}

/// After the lane left its operands in the warp's slots: records which
/// collective it is at (`kind`: -1 a shuffle, 0-2 an mma.sync shape, 16+
/// an ldmatrix shape) and waits until the scheduler releases the warp.
void waitForWarp(Fiber *f, const WarpArrival &a, int32_t kind) {
  a.warp.mmaKind[a.parity][a.lane] = kind;
  f->state = FiberState::AtWarpSync;
  a.run->yield(*f);
}

/// gpu.barrier: waits until every thread of the block arrives.
void kiln_emu_barrier(ThreadContext *ctx) {
  Fiber *f = checkedFiber(ctx, "a barrier");
  if (!f)
    return;
  f->state = FiberState::AtBarrier;
  currentBlock->yield(*f);
}

/// gpu.shuffle of a 32-bit value with the PTX shfl.sync semantics of the
/// NVVM lowering (mode 0 xor, 1 up, 2 down, 3 idx; lanes [0, width)).
/// Returns the value in the low 32 bits and the validity in bit 32.
int64_t kiln_emu_shuffle(ThreadContext *ctx, int32_t value, int32_t offset,
                         int32_t width, int32_t mode) {
  Fiber *f = checkedFiber(ctx, "a warp shuffle");
  if (!f)
    return value;
  WarpArrival a = arriving(f);
  a.warp.values[a.parity][a.lane] = (uint32_t)value;
  waitForWarp(f, a, -1);
  int64_t lane = (int64_t)a.lane;
  int64_t clamp = mode == 1 ? 32 - width : width - 1;
  int64_t j;
  bool valid;
  switch (mode) {
  case 0: j = lane ^ offset; valid = j <= clamp; break;
  case 1: j = lane - offset; valid = j >= clamp; break;
  case 2: j = lane + offset; valid = j <= clamp; break;
  default: j = offset & 31; valid = j <= clamp; break;
  }
  size_t lanes = std::min<size_t>(32, a.run->fibers.size() - a.index / 32 * 32);
  if (!valid || j < 0 || j >= (int64_t)lanes)
    j = lane;
  uint32_t result = a.warp.values[a.parity][j];
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

/// After a warp collective's release: whether all 32 lanes of the warp of
/// fiber `index` asked for the same `kind` of collective (else a run error
/// naming `what`).
static bool warpAgrees(BlockRun *run, Fiber *f, size_t index, uint64_t parity, int32_t kind,
                       const char *what) {
  Warp &warp = run->warps[index / 32];
  size_t lanes = std::min<size_t>(32, run->fibers.size() - index / 32 * 32);
  bool same = lanes == 32;
  for (size_t i = 0; same && i < 32; ++i)
    same = warp.mmaKind[parity][i] == kind;
  if (!same)
    reportError("GPU emulation: in block " + blockName(f->ctx.bid) + ", warp " +
                std::to_string(index / 32) + " runs " + what +
                " without all 32 lanes on the same " + (kind < 16 ? "mma shape" : "shape") +
                " (or with lanes at another warp collective)");
  return same;
}

/// nvgpu.mma.sync as a warp collective: `frag` holds the lane's 16 floats
/// (see mmaTile); on return frag[12..15] is the lane's D fragment. Every
/// lane of a full warp must take part with the same kind.
void kiln_emu_mma(ThreadContext *ctx, int32_t kind, float *frag) {
  Fiber *f = checkedFiber(ctx, "mma.sync");
  if (!f)
    return;
  if (kind < 0 || kind > 2) {
    reportError("GPU emulation: unknown mma.sync kind " + std::to_string(kind));
    return;
  }
  WarpArrival a = arriving(f);
  Warp &warp = a.warp;
  memcpy(warp.frags[a.parity][a.lane], frag, sizeof(float) * 16);
  waitForWarp(f, a, kind);
  if (hasError())
    return;
  if (warp.mmaDone[a.parity] != a.gen + 1) {
    // The first lane to resume after the warp's release computes the tile.
    if (!warpAgrees(a.run, f, a.index, a.parity, kind, "mma.sync"))
      return;
    mmaTile(warp.frags[a.parity], kind);
    warp.mmaDone[a.parity] = a.gen + 1;
  }
  memcpy(frag + 12, warp.frags[a.parity][a.lane] + 12, sizeof(float) * 4);
}

/// A load (`write` 0) or store (1) of `bytes` at shared address `addr` by
/// the thread, at instruction `site` ("kernel\top\tlocation").
void kiln_emu_smem(ThreadContext *ctx, const char *site, int64_t addr, int32_t bytes,
                   int32_t write) {
  BlockRun *run = currentBlock;
  // Without the checks only copies in flight matter: the common case
  // returns here.
  if (!run || (!checksOn && run->inFlight == 0))
    return;
  Fiber *f = reinterpret_cast<Fiber *>(ctx);
  if (f != currentFiber || run->shadow.empty() || hasError())
    return;
  run->access(site, (uint64_t)addr, bytes, write != 0, *f);
  if (checksOn)
    run->record(site, *f, (uint64_t)addr, bytes, false);
}

/// cp.async of `bytes` (4, 8 or 16) from global `src` to shared `dst`:
/// nothing reaches shared memory until a wait covers the copy's group;
/// the first `srcBytes` come from `src`, the rest are zeros.
void kiln_emu_cp_async(ThreadContext *ctx, const char *site, int64_t dst, int64_t src,
                       int32_t bytes, int32_t srcBytes) {
  Fiber *f = checkedFiber(ctx, "cp.async");
  if (!f || hasError())
    return;
  BlockRun *run = currentBlock;
  if (bytes != 4 && bytes != 8 && bytes != 16) {
    reportError("GPU emulation: " + BlockRun::describeSite(site) + ": cp.async of " +
                std::to_string(bytes) + " bytes (4, 8 or 16 are allowed)");
    return;
  }
  if (srcBytes < 0 || srcBytes > bytes) {
    reportError("GPU emulation: " + BlockRun::describeSite(site) + ": cp.async reads " +
                std::to_string(srcBytes) + " of " + std::to_string(bytes) + " bytes");
    return;
  }
  if ((dst % bytes) || (srcBytes && (src % bytes))) {
    reportError("GPU emulation: " + BlockRun::describeSite(site) + ": cp.async of " +
                std::to_string(bytes) + " bytes at a misaligned address");
    return;
  }
  size_t first, last;
  if (run->shadow.empty()) {
    reportError("GPU emulation: " + BlockRun::describeSite(site) +
                ": cp.async in a kernel without checked shared memory");
    return;
  }
  if (!run->wordRange(site, (uint64_t)dst, bytes, *f, first, last))
    return;
  run->shadowDirty = true;
  int32_t warp = run->warpOf(*f);
  for (size_t w = first; w <= last; ++w) {
    ShadowWord &sw = run->shadow[w];
    if (sw.pending)
      run->hazard(BlockRun::describeSite(site) + ": thread " + run->threadName(*f) +
                      " starts a cp.async to shared byte " + std::to_string(w * 4) +
                      " while another copy to it is in flight",
                  true);
    else if (checksOn && sw.readEpoch == run->epoch && sw.readWarp != warp && sw.readMask)
      run->hazard(BlockRun::describeSite(site) + ": thread " + run->threadName(*f) +
                      " starts a cp.async to shared byte " + std::to_string(w * 4) +
                      " that other warps may still read (no barrier since)",
                  false);
    else if (checksOn && sw.writeEpoch == run->epoch && sw.writeWarp != warp)
      run->hazard(BlockRun::describeSite(site) + ": thread " + run->threadName(*f) +
                      " starts a cp.async to shared byte " + std::to_string(w * 4) +
                      " that warp " + std::to_string(sw.writeWarp) +
                      " wrote with no barrier between",
                  false);
    sw.pending++;
  }
  if (checksOn)
    run->record(site, *f, (uint64_t)dst, bytes, true);
  f->pending.push_back(AsyncCopy{(unsigned char *)(uintptr_t)dst,
                                 (const unsigned char *)(uintptr_t)src, bytes, srcBytes,
                                 f->committed});
  run->inFlight++;
}

/// cp.async.commit_group: the thread's copies since the last commit form
/// its next group.
void kiln_emu_cp_async_commit(ThreadContext *ctx) {
  Fiber *f = checkedFiber(ctx, "cp.async");
  if (f)
    f->committed++;
}

/// cp.async.wait_group n: every committed group of the thread but the
/// newest `n` is complete (its copies land in shared memory now).
void kiln_emu_cp_async_wait(ThreadContext *ctx, int32_t n) {
  Fiber *f = checkedFiber(ctx, "cp.async");
  if (!f || hasError())
    return;
  uint64_t upTo = f->committed > (uint64_t)std::max(n, 0) ? f->committed - std::max(n, 0) : 0;
  currentBlock->complete(*f, upTo);
}

/// ldmatrix (.m8n8, .x1/.x2/.x4 = `tiles`, .trans for 16-bit elements) as
/// a warp collective: lane 8i + r gives the address of row r of tile i
/// (16 bytes); each lane receives one 32-bit register per tile in `out`:
/// without .trans, 32-bit word (lane % 4) of row (lane / 4); with .trans,
/// the 16-bit elements (lane / 4) of rows 2 (lane % 4) and 2 (lane % 4) + 1.
void kiln_emu_ldmatrix(ThreadContext *ctx, const char *site, int64_t addr, int32_t tiles,
                       int32_t trans, uint32_t *out) {
  Fiber *f = checkedFiber(ctx, "ldmatrix");
  if (!f)
    return;
  if (tiles != 1 && tiles != 2 && tiles != 4) {
    reportError("GPU emulation: ldmatrix of " + std::to_string(tiles) + " tiles");
    return;
  }
  WarpArrival a = arriving(f);
  BlockRun *run = a.run;
  Warp &warp = a.warp;
  size_t index = a.index, lane = a.lane;
  uint64_t gen = a.gen, parity = a.parity;
  int32_t kind = 16 + tiles * 2 + (trans ? 1 : 0);
  warp.rowAddr[parity][lane] = (uint64_t)addr;
  waitForWarp(f, a, kind);
  if (hasError())
    return;
  if (warp.ldmDone[parity] != gen + 1) {
    if (!warpAgrees(run, f, index, parity, kind, "ldmatrix"))
      return;
    Fiber *warpFibers = &run->fibers[index / 32 * 32];
    for (int32_t t = 0; t < tiles; ++t) {
      unsigned char rows[8][16];
      WarpAccess a;
      a.rows = true;
      for (int r = 0; r < 8; ++r) {
        uint64_t at = warp.rowAddr[parity][8 * t + r];
        Fiber &owner = warpFibers[8 * t + r];
        if (at % 16) {
          reportError("GPU emulation: " + BlockRun::describeSite(site) +
                      ": ldmatrix row address not 16-byte aligned (lane " +
                      std::to_string(8 * t + r) + ")");
          return;
        }
        if (!run->shadow.empty())
          run->access(site, at, 16, false, owner);
        if (hasError())
          return;
        memcpy(rows[r], (const void *)(uintptr_t)at, 16);
        a.addr[r] = at;
        a.bytes[r] = 16;
        a.lanes |= 1u << r;
      }
      if (checksOn)
        run->finish(site, a);
      for (int l = 0; l < 32; ++l) {
        uint32_t v;
        if (!trans) {
          memcpy(&v, rows[l / 4] + 4 * (l % 4), 4);
        } else {
          uint16_t lo, hi;
          memcpy(&lo, rows[2 * (l % 4)] + 2 * (l / 4), 2);
          memcpy(&hi, rows[2 * (l % 4) + 1] + 2 * (l / 4), 2);
          v = (uint32_t)lo | ((uint32_t)hi << 16);
        }
        warp.ldm[parity][l][t] = v;
      }
    }
    warp.ldmDone[parity] = gen + 1;
  }
  memcpy(out, warp.ldm[parity][lane], sizeof(uint32_t) * tiles);
}

/// Turns the shared-memory checks (bank conflicts, races) on or off;
/// returns the previous setting.
int kiln_emu_set_checks(int on) {
  bool was = checksOn;
  checksOn = on != 0;
  return was;
}

static std::string jsonString(const std::string &s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      o += '\\', o += c;
    else if (c == '\n')
      o += "\\n";
    else if (c == '\t')
      o += "\\t";
    else if ((unsigned char)c < 0x20)
      o += ' ';
    else
      o += c;
  }
  return o + "\"";
}

/// The checks' findings since the last reset, as JSON: per instruction
/// (kernel, op, location) its warp executions, wavefronts and the ideal
/// wavefronts; the hazard count and the first hazards. The text stays
/// valid until the next call.
const char *kiln_emu_report(void) {
  static std::string text;
  std::lock_guard<std::mutex> lock(reportMutex);
  text = "{\"checks\": " + std::string(checksOn ? "true" : "false") +
         ", \"hazards\": " + std::to_string(hazardCount) + ", \"hazard_examples\": [";
  for (size_t i = 0; i < hazardExamples.size(); ++i)
    text += (i ? ", " : "") + jsonString(hazardExamples[i]);
  text += "], \"instructions\": [";
  bool first = true;
  for (auto &[site, st] : siteStats) {
    size_t a = site.find('\t');
    size_t b = a == std::string::npos ? a : site.find('\t', a + 1);
    text += std::string(first ? "" : ", ") + "{\"kernel\": " + jsonString(site.substr(0, a)) +
            ", \"op\": " + jsonString(a == std::string::npos ? "" : site.substr(a + 1, b - a - 1)) +
            ", \"location\": " + jsonString(b == std::string::npos ? "" : site.substr(b + 1)) +
            ", \"executions\": " + std::to_string(st.executions) +
            ", \"wavefronts\": " + std::to_string(st.wavefronts) +
            ", \"ideal\": " + std::to_string(st.ideal) + "}";
    first = false;
  }
  text += "]}";
  return text.c_str();
}

/// The number of hazards found since the last reset.
int64_t kiln_emu_hazards(void) {
  std::lock_guard<std::mutex> lock(reportMutex);
  return (int64_t)hazardCount;
}

void kiln_emu_report_reset(void) {
  std::lock_guard<std::mutex> lock(reportMutex);
  siteStats.clear();
  hazardCount = 0;
  hazardExamples.clear();
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
