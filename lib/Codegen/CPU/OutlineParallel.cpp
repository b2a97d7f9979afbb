//===- OutlineParallel.cpp - scf.forall to thread-pool launches ----------===//
#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_OUTLINEPARALLELLOOPS
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct OutlineParallelLoopsPass
    : public kiln::impl::OutlineParallelLoopsBase<OutlineParallelLoopsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<scf::ForallOp> loops;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal())
        for (Operation &op : func.getBody().front())
          if (auto forall = dyn_cast<scf::ForallOp>(&op))
            loops.push_back(forall);
    int counter = 0;
    for (scf::ForallOp loop : loops)
      if (failed(outline(loop, counter++)))
        return signalPassFailure();
  }

  LogicalResult outline(scf::ForallOp loop, int index) {
    if (!loop.getResults().empty())
      return success(); // still on tensors: not ours to launch
    auto lbs = loop.getStaticLowerBound(), ubs = loop.getStaticUpperBound();
    auto steps = loop.getStaticStep();
    if (llvm::any_of(llvm::concat<const int64_t>(lbs, ubs, steps),
                     ShapedType::isDynamic))
      return success();
    SmallVector<int64_t> counts;
    int64_t total = 1;
    for (auto [lb, ub, step] : llvm::zip(lbs, ubs, steps)) {
      counts.push_back(std::max<int64_t>(0, (ub - lb + step - 1) / step));
      total *= counts.back();
    }
    if (total <= 1)
      return success();

    MLIRContext *ctx = loop.getContext();
    Location loc = loop.getLoc();
    ModuleOp module = loop->getParentOfType<ModuleOp>();

    // Values from above: constants are rematerialized in the body; the rest
    // become arguments.
    SetVector<Value> above;
    getUsedValuesDefinedAbove(loop.getRegion(), above);
    SmallVector<Value> captured;
    SmallVector<Operation *> constants;
    for (Value v : above) {
      Operation *def = v.getDefiningOp();
      if (def && def->hasTrait<OpTrait::ConstantLike>())
        constants.push_back(def);
      else
        captured.push_back(v);
    }
    SmallVector<Type> capturedTypes;
    for (Value v : captured)
      capturedTypes.push_back(v.getType());

    OpBuilder mb(module.getBodyRegion());
    mb.setInsertionPointToEnd(module.getBody());
    std::string suffix = std::to_string(index);
    SmallVector<Type> bodyArgs{mb.getIndexType()};
    bodyArgs.append(capturedTypes);
    auto body = func::FuncOp::create(mb, loc, "kiln_par_body_" + suffix,
                                     mb.getFunctionType(bodyArgs, {}));
    body.setPrivate();
    SmallVector<Type> launchArgs{mb.getIndexType()};
    launchArgs.append(capturedTypes);
    auto launch = func::FuncOp::create(mb, loc, "kiln_par_launch_" + suffix,
                                       mb.getFunctionType(launchArgs, {}));
    launch.setPrivate();

    // The body: the flat index back to the loop's induction variables, then
    // the loop body.
    Block *entry = body.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    IRMapping map;
    for (Operation *c : constants)
      b.clone(*c, map);
    for (auto [v, arg] : llvm::zip(captured, entry->getArguments().drop_front()))
      map.map(v, arg);
    Value flat = entry->getArgument(0);
    int64_t stride = total;
    for (auto [d, iv] : llvm::enumerate(loop.getInductionVars())) {
      stride /= counts[d];
      Value q = arith::DivUIOp::create(b, loc, flat,
                                       arith::ConstantIndexOp::create(b, loc, stride));
      Value pos = arith::RemUIOp::create(b, loc, q,
                                         arith::ConstantIndexOp::create(b, loc, counts[d]));
      Value scaled = arith::MulIOp::create(b, loc, pos,
                                           arith::ConstantIndexOp::create(b, loc, steps[d]));
      map.map(iv, arith::AddIOp::create(b, loc, scaled,
                                        arith::ConstantIndexOp::create(b, loc, lbs[d])));
    }
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
    func::ReturnOp::create(b, loc);

    OpBuilder lb(loop);
    SmallVector<Value> args{arith::ConstantIndexOp::create(lb, loc, total)};
    args.append(captured);
    func::CallOp::create(lb, loc, launch, args);
    loop.erase();
    (void)ctx;
    return success();
  }
};

} // namespace
