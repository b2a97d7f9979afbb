//===- GpuAttention.cpp - kiln.attention as one flash-style GPU kernel ----===//
//
// Each static f32 kiln.attention becomes one gpu.launch, built on tensors
// before bufferization (its operands' buffers through read-only
// bufferization.to_buffer, the result a new buffer): a block per (tile of
// Br query rows, batch x head), a thread per query row, keys and values
// streamed through shared memory in tiles of Bc:
//
//   all threads: K and V tile -> shared memory; barrier
//   each thread: s_j = q . k_j * scale + mask (causal / past the end: -inf)
//                into its row of a shared score tile, the tile's maximum
//   online softmax: m' = max(m, tile max), alpha = exp(m - m'),
//                p_j = exp(s_j - m'), l = l * alpha + sum p_j
//   its output row (in the result buffer) = row * alpha + sum_j p_j v_j
//   barrier
//
// and divides by l at the end. The sequence x sequence scores are never
// stored: shared memory holds one Br x Bc tile. Query rows past the end
// compute on the last row (so that every thread reaches every barrier) and
// store nothing. CUDA cores only: the tensor-core version (mma.sync / wgmma
// on the tiles) is the next step.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/GPU/Passes.h"
#include "kiln/Codegen/Common/Passes.h"
#include "kiln/Dialect/Kiln/KilnOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

namespace kiln {
#define GEN_PASS_DEF_GPUATTENTION
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Query rows per block (one thread each).
constexpr int64_t kRows = 64;
/// Up to this many query rows (decoding with a cache), the keys are split
/// over the threads of a block per row instead: kDecodeThreads of them.
constexpr int64_t kDecodeRows = 4;
constexpr int64_t kDecodeThreads = 64;

struct Emitter {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f32(float v) { return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v)); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value minIdx(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value select(Value c, Value x, Value y) { return arith::SelectOp::create(b, loc, c, x, y); }
  Value load(Value m, ValueRange at) { return memref::LoadOp::create(b, loc, m, at); }
  /// A load widened to f32 (f16 and bf16 operands compute in f32).
  Value loadF32(Value m, ValueRange at) {
    Value x = load(m, at);
    return x.getType().isF32() ? x : arith::ExtFOp::create(b, loc, b.getF32Type(), x);
  }
  /// Element (batch, head, row, key) of a mask that broadcasts to [B, H,
  /// Sq, Sk] (its broadcast dimensions read at 0), in f32.
  Value maskAt(Value mask, Value batch, Value head, Value row, Value key) {
    auto mt = cast<MemRefType>(mask.getType());
    Value coords[4] = {batch, head, row, key};
    SmallVector<Value> at;
    for (int64_t i = 0, r = mt.getRank(); i < r; ++i)
      at.push_back(mt.getDimSize(i) == 1 ? idx(0) : coords[4 - r + i]);
    return loadF32(mask, at);
  }
  /// A store narrowed to the buffer's element type.
  void storeAs(Value v, Value m, ValueRange at) {
    Type et = cast<MemRefType>(m.getType()).getElementType();
    store(et.isF32() ? v : arith::TruncFOp::create(b, loc, et, v), m, at);
  }
  void store(Value v, Value m, ValueRange at) { memref::StoreOp::create(b, loc, v, m, at); }

  /// for (i = lb; i < ub; i += step) with loop-carried values; `body`
  /// returns the next values.
  ValueRange loop(Value lb, Value ub, int64_t step, ValueRange init,
                  function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto forOp = scf::ForOp::create(b, loc, lb, ub, idx(step), init);
    OpBuilder::InsertionGuard guard(b);
    Block *block = forOp.getBody();
    if (!block->empty() && block->back().hasTrait<OpTrait::IsTerminator>())
      block->back().erase(); // the builder's yield of a loop without values
    b.setInsertionPointToEnd(block);
    SmallVector<Value> next = body(forOp.getInductionVar(), forOp.getRegionIterArgs());
    scf::YieldOp::create(b, loc, next);
    return forOp.getResults();
  }
};

struct GpuAttentionPass : kiln::impl::GpuAttentionBase<GpuAttentionPass> {
  void runOnOperation() override {
    SmallVector<kiln::AttentionOp> ops;
    getOperation().walk([&](kiln::AttentionOp op) { ops.push_back(op); });
    for (kiln::AttentionOp op : ops) {
      Type et = op.getQuery().getType().getElementType();
      if (!(et.isF32() || et.isF16() || et.isBF16()) ||
          !op.getQuery().getType().hasStaticShape() || !op.getKey().getType().hasStaticShape() ||
          !op.getValue().getType().hasStaticShape()) {
        op.emitOpError() << "the GPU attention kernel takes static f32, f16 or bf16 tensors";
        return signalPassFailure();
      }
      rewrite(op);
    }
  }

  void rewrite(kiln::AttentionOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Emitter e{b, loc};
    MLIRContext *ctx = b.getContext();
    // Any layout the operands' buffers have: read by address and strides.
    auto buffer = [&](Value tensor) { return kiln::readOnlyBuffer(b, loc, tensor); };
    ArrayRef<int64_t> qs = op.getQuery().getType().getShape(),
                      ks = op.getKey().getType().getShape(),
                      vs = op.getValue().getType().getShape();
    int64_t B = qs[0], H = qs[1], Sq = qs[2], D = qs[3], Hkv = ks[1], Sk = ks[2], Dv = vs[3];
    Value q = buffer(op.getQuery()), k = buffer(op.getKey()), v = buffer(op.getValue());
    Value mask = op.getMask() ? buffer(op.getMask()) : Value();
    auto resultType = op.getType();
    Value out = memref::AllocOp::create(
        b, loc, MemRefType::get(resultType.getShape(), resultType.getElementType()));
    if (Sq <= kDecodeRows && Dv >= 1 && Dv <= 128 && Sk > 0) {
      emitDecode(b, op, q, k, v, mask, out, {B, H, Hkv, Sq, Sk, D, Dv});
      finish(b, op, out);
      return;
    }
    // The tiled kernel accumulates each output row in place: in f32 (a
    // buffer of its own for f16/bf16 results).
    Value accum = resultType.getElementType().isF32()
                      ? out
                      : memref::AllocOp::create(
                            b, loc, MemRefType::get(resultType.getShape(), b.getF32Type()));
    // Key tiles: 32 keys, fewer for wide heads (shared memory stays under
    // 48 KiB).
    int64_t bc = 32;
    while (bc > 4 && 4 * (bc * (D + Dv) + kRows * (bc + 1)) > 40 * 1024)
      bc /= 2;
    auto shared = [&](ArrayRef<int64_t> shape) {
      return MemRefType::get(shape, b.getF32Type(), MemRefLayoutAttrInterface{},
                             gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
    };
    SmallVector<Type> workgroup{shared({bc, std::max<int64_t>(D, 1)}),
                                shared({bc, std::max<int64_t>(Dv, 1)}), shared({kRows, bc + 1})};
    int64_t tiles = (Sq + kRows - 1) / kRows;
    Value one = e.idx(1);
    auto launch = gpu::LaunchOp::create(b, loc, e.idx(tiles), e.idx(B * H), one, e.idx(kRows), one,
                                        one, /*dynamicSharedMemorySize=*/nullptr,
                                        /*asyncTokenType=*/nullptr, ValueRange{}, workgroup);
    Block &body = launch.getBody().front();
    Value kTile = launch.getWorkgroupAttributions()[0];
    Value vTile = launch.getWorkgroupAttributions()[1];
    Value sTile = launch.getWorkgroupAttributions()[2];
    b.setInsertionPointToStart(&body);
    Value tid = launch.getThreadIds().x, bh = launch.getBlockIds().y;
    Value zero = e.idx(0);
    Value batch = arith::DivUIOp::create(b, loc, bh, e.idx(H));
    Value head = arith::RemUIOp::create(b, loc, bh, e.idx(H));
    Value kvHead = arith::DivUIOp::create(b, loc, head, e.idx(H / Hkv));
    Value row0 = e.mul(launch.getBlockIds().x, e.idx(kRows));
    Value row = e.add(row0, tid);
    Value valid = e.cmp(arith::CmpIPredicate::ult, row, e.idx(Sq));
    Value qRow = e.minIdx(row, e.idx(Sq - 1));
    float scale = op.getScale().convertToFloat();
    std::optional<int64_t> causal = op.getCausalOffset();
    Value ninf = e.f32(-std::numeric_limits<float>::infinity()), fzero = e.f32(0.0f);

    // The output row starts at 0 (it accumulates).
    auto ifValid = [&](function_ref<void()> fn) {
      auto guard = scf::IfOp::create(b, loc, valid, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(guard.thenBlock()->getTerminator());
      fn();
    };
    ifValid([&] {
      e.loop(zero, e.idx(Dv), 1, {}, [&](Value d, ValueRange) {
        e.store(fzero, accum, {batch, head, row, d});
        return SmallVector<Value>{};
      });
    });
    // Keys the block visits: a causal block stops after its last row's.
    Value keys = e.idx(Sk);
    if (causal) {
      Value limit = e.add(row0, e.idx(kRows - 1 + *causal + 1));
      // A negative limit (no key visible) clamps to 0 through max.
      Value positive = arith::MaxSIOp::create(b, loc, limit, zero);
      keys = e.minIdx(positive, e.idx(Sk));
    }
    auto tileLoad = [&](Value src, Value dst, int64_t width, Value j0) {
      if (width == 0)
        return;
      e.loop(tid, e.idx(bc * width), kRows, {}, [&](Value el, ValueRange) {
        Value jj = arith::DivUIOp::create(b, loc, el, e.idx(width));
        Value dd = arith::RemUIOp::create(b, loc, el, e.idx(width));
        Value key = e.add(j0, jj);
        Value inKeys = e.cmp(arith::CmpIPredicate::ult, key, e.idx(Sk));
        Value x = e.loadF32(src, {batch, kvHead, e.minIdx(key, e.idx(Sk - 1)), dd});
        e.store(e.select(inKeys, x, fzero), dst, {jj, dd});
        return SmallVector<Value>{};
      });
    };
    ValueRange state = e.loop(zero, keys, bc, {ninf, fzero}, [&](Value j0, ValueRange ml) {
      Value m = ml[0], l = ml[1];
      tileLoad(k, kTile, D, j0);
      tileLoad(v, vTile, Dv, j0);
      gpu::BarrierOp::create(b, loc);
      // Scores of this thread's row against the tile.
      Value tileMax = e.loop(zero, e.idx(bc), 1, {ninf}, [&](Value jj, ValueRange mx) {
        Value dot = e.loop(zero, e.idx(D), 1, {fzero}, [&](Value d, ValueRange acc) {
          Value x = e.loadF32(q, {batch, head, qRow, d});
          Value y = e.load(kTile, {jj, d});
          return SmallVector<Value>{math::FmaOp::create(b, loc, x, y, acc[0])};
        })[0];
        Value key = e.add(j0, jj);
        Value s = e.fmul(dot, e.f32(scale));
        if (mask)
          s = e.fadd(s, e.maskAt(mask, batch, head, qRow, e.minIdx(key, e.idx(Sk - 1))));
        Value hidden = e.cmp(arith::CmpIPredicate::uge, key, e.idx(Sk));
        if (causal)
          hidden = arith::OrIOp::create(
              b, loc, hidden,
              e.cmp(arith::CmpIPredicate::sgt, key, e.add(qRow, e.idx(*causal))));
        s = e.select(hidden, ninf, s);
        e.store(s, sTile, {tid, jj});
        return SmallVector<Value>{arith::MaximumFOp::create(b, loc, mx[0], s)};
      })[0];
      // Online softmax step.
      Value mNew = arith::MaximumFOp::create(b, loc, m, tileMax);
      Value dead = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, mNew, ninf);
      Value shift = e.select(dead, fzero, mNew);
      Value alpha = e.select(dead, e.f32(1.0f),
                             math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, m, shift)));
      Value sum = e.loop(zero, e.idx(bc), 1, {fzero}, [&](Value jj, ValueRange acc) {
        Value s = e.load(sTile, {tid, jj});
        Value p = math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, s, shift));
        e.store(p, sTile, {tid, jj});
        return SmallVector<Value>{e.fadd(acc[0], p)};
      })[0];
      Value lNew = e.fadd(e.fmul(l, alpha), sum);
      // The output row: rescaled, plus P V over the tile.
      ifValid([&] {
        e.loop(zero, e.idx(Dv), 1, {}, [&](Value d, ValueRange) {
          Value o = e.fmul(e.load(accum, {batch, head, row, d}), alpha);
          Value acc = e.loop(zero, e.idx(bc), 1, {o}, [&](Value jj, ValueRange a) {
            Value p = e.load(sTile, {tid, jj});
            return SmallVector<Value>{
                math::FmaOp::create(b, loc, p, e.load(vTile, {jj, d}), a[0])};
          })[0];
          e.store(acc, accum, {batch, head, row, d});
          return SmallVector<Value>{};
        });
      });
      gpu::BarrierOp::create(b, loc);
      return SmallVector<Value>{mNew, lNew};
    });
    // out / l; a row that saw no key (l = 0) is NaN like the softmax it
    // replaces, or 0 with zero_nan_rows.
    Value l = state[1];
    ifValid([&] {
      Value inv = arith::DivFOp::create(b, loc, e.f32(1.0f), l);
      Value zeroRow;
      if (op.getZeroNanRows())
        zeroRow = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ULE, l, fzero);
      e.loop(zero, e.idx(Dv), 1, {}, [&](Value d, ValueRange) {
        Value o = e.fmul(e.load(accum, {batch, head, row, d}), inv);
        if (Sk == 0)
          o = fzero;
        if (zeroRow)
          o = e.select(zeroRow, fzero, o);
        e.storeAs(o, out, {batch, head, row, d});
        return SmallVector<Value>{};
      });
    });
    gpu::TerminatorOp::create(b, loc);
    b.setInsertionPointAfter(launch);
    finish(b, op, out);
  }

  /// The result tensor of the output buffer replaces the op.
  void finish(OpBuilder &b, kiln::AttentionOp op, Value out) {
    Value result = bufferization::ToTensorOp::create(b, op.getLoc(), op.getType(), out,
                                                     /*restrict=*/b.getUnitAttr(),
                                                     /*writable=*/b.getUnitAttr());
    op.replaceAllUsesWith(result);
    op.erase();
  }

  struct Dims {
    int64_t B, H, Hkv, Sq, Sk, D, Dv;
  };

  /// Decoding (a few query rows against a long key/value cache): a block
  /// per (query row, batch x head), its threads splitting the keys (key j
  /// to thread j mod T), each with its own running maximum, sum and output
  /// row in registers; then the threads' partial results are combined
  /// through shared memory (rescaled to the common maximum), one output
  /// element per thread.
  void emitDecode(OpBuilder &b, kiln::AttentionOp op, Value q, Value k, Value v, Value mask,
                  Value out, Dims n) {
    Location loc = op.getLoc();
    Emitter e{b, loc};
    MLIRContext *ctx = b.getContext();
    auto shared = [&](ArrayRef<int64_t> shape) {
      return MemRefType::get(shape, b.getF32Type(), MemRefLayoutAttrInterface{},
                             gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
    };
    int64_t T = kDecodeThreads;
    SmallVector<Type> workgroup{shared({T, n.Dv}), shared({T, 2})};
    Value one = e.idx(1);
    auto launch = gpu::LaunchOp::create(b, loc, e.idx(n.Sq), e.idx(n.B * n.H), one, e.idx(T), one,
                                        one, /*dynamicSharedMemorySize=*/nullptr,
                                        /*asyncTokenType=*/nullptr, ValueRange{}, workgroup);
    Value partial = launch.getWorkgroupAttributions()[0];
    Value stats = launch.getWorkgroupAttributions()[1];
    b.setInsertionPointToStart(&launch.getBody().front());
    Value tid = launch.getThreadIds().x, row = launch.getBlockIds().x;
    Value bh = launch.getBlockIds().y, zero = e.idx(0);
    Value batch = arith::DivUIOp::create(b, loc, bh, e.idx(n.H));
    Value head = arith::RemUIOp::create(b, loc, bh, e.idx(n.H));
    Value kvHead = arith::DivUIOp::create(b, loc, head, e.idx(n.H / n.Hkv));
    Value ninf = e.f32(-std::numeric_limits<float>::infinity()), fzero = e.f32(0.0f);
    std::optional<int64_t> causal = op.getCausalOffset();
    // Keys this row sees.
    Value keys = e.idx(n.Sk);
    if (causal) {
      Value limit = e.add(row, e.idx(*causal + 1));
      keys = e.minIdx(arith::MaxSIOp::create(b, loc, limit, zero), e.idx(n.Sk));
    }
    SmallVector<Value> init{ninf, fzero};
    init.append(n.Dv, fzero);
    ValueRange acc = e.loop(tid, keys, T, init, [&](Value key, ValueRange st) {
      Value dot = e.loop(zero, e.idx(n.D), 1, {fzero}, [&](Value d, ValueRange a) {
        Value x = e.loadF32(q, {batch, head, row, d});
        Value y = e.loadF32(k, {batch, kvHead, key, d});
        return SmallVector<Value>{math::FmaOp::create(b, loc, x, y, a[0])};
      })[0];
      Value s = e.fmul(dot, e.f32(op.getScale().convertToFloat()));
      if (mask)
        s = e.fadd(s, e.maskAt(mask, batch, head, row, key));
      Value m = st[0], l = st[1];
      Value mNew = arith::MaximumFOp::create(b, loc, m, s);
      Value dead = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, mNew, ninf);
      Value shift = e.select(dead, fzero, mNew);
      Value alpha = e.select(dead, e.f32(1.0f),
                             math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, m, shift)));
      Value p = math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, s, shift));
      SmallVector<Value> next{mNew, e.fadd(e.fmul(l, alpha), p)};
      for (int64_t d = 0; d < n.Dv; ++d) {
        Value vd = e.loadF32(v, {batch, kvHead, key, e.idx(d)});
        next.push_back(math::FmaOp::create(b, loc, p, vd, e.fmul(st[2 + d], alpha)));
      }
      return next;
    });
    // Partial results to shared memory, then one output element per thread.
    e.store(acc[0], stats, {tid, zero});
    e.store(acc[1], stats, {tid, one});
    for (int64_t d = 0; d < n.Dv; ++d)
      e.store(acc[2 + d], partial, {tid, e.idx(d)});
    gpu::BarrierOp::create(b, loc);
    Value mAll = e.loop(zero, e.idx(T), 1, {ninf}, [&](Value t, ValueRange a) {
      return SmallVector<Value>{arith::MaximumFOp::create(b, loc, a[0], e.load(stats, {t, zero}))};
    })[0];
    Value dead = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, mAll, ninf);
    Value shift = e.select(dead, fzero, mAll);
    e.loop(tid, e.idx(n.Dv), T, {}, [&](Value d, ValueRange) {
      ValueRange sums = e.loop(zero, e.idx(T), 1, {fzero, fzero}, [&](Value t, ValueRange a) {
        Value w = math::ExpOp::create(
            b, loc, arith::SubFOp::create(b, loc, e.load(stats, {t, zero}), shift));
        return SmallVector<Value>{math::FmaOp::create(b, loc, w, e.load(stats, {t, one}), a[0]),
                                  math::FmaOp::create(b, loc, w, e.load(partial, {t, d}), a[1])};
      });
      Value o = arith::DivFOp::create(b, loc, sums[1], sums[0]);
      if (op.getZeroNanRows()) {
        Value none = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ULE, sums[0], fzero);
        o = e.select(none, fzero, o);
      }
      e.storeAs(o, out, {batch, head, row, d});
      return SmallVector<Value>{};
    });
    gpu::TerminatorOp::create(b, loc);
    b.setInsertionPointAfter(launch);
  }
};

} // namespace
