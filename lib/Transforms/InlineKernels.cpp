//===- InlineKernels.cpp - dissolve kernel groups into tagged ops --------===//
#include "kiln/Transforms/Passes.h"
#include "kiln/Transforms/FusionReport.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_INLINEKERNELS
#define GEN_PASS_DEF_KERNELCOSTS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {
constexpr StringLiteral kCostAttr = "kiln.cost";

struct KernelCostsPass : kiln::impl::KernelCostsBase<KernelCostsPass> {
  void runOnOperation() override {
    Builder b(&getContext());
    getOperation().walk([&](KernelOp kernel) {
      KernelCost cost = kernelCost(kernel);
      std::string nodes;
      for (const std::string &n : cost.nodes) {
        if (nodes.size() > 240) {
          nodes += ",...";
          break;
        }
        nodes += (nodes.empty() ? "" : ",") + n;
      }
      kernel->setAttr(kCostAttr, b.getDictionaryAttr({
                                     b.getNamedAttr("flops", b.getI64IntegerAttr(cost.flops)),
                                     b.getNamedAttr("bytes", b.getI64IntegerAttr(cost.bytes)),
                                     b.getNamedAttr("nodes", b.getStringAttr(nodes)),
                                 }));
    });
  }
};

struct InlineKernelsPass : kiln::impl::InlineKernelsBase<InlineKernelsPass> {
  void runOnOperation() override {
    SmallVector<KernelOp> kernels;
    getOperation().walk([&](KernelOp k) { kernels.push_back(k); });
    IRRewriter rewriter(&getContext());
    recordKernelTable(kernels);
    for (auto [index, kernel] : llvm::enumerate(kernels)) {
      Block &body = kernel.getBody().front();
      auto yield = cast<YieldOp>(body.getTerminator());
      for (Operation &op : body.without_terminator()) {
        if (matchPattern(&op, m_Constant()) || isa<tensor::EmptyOp>(op))
          continue;
        setKernelTag(&op, index, kernel.getKind());
      }
      // A kernel may yield one of its own arguments (an op of the group
      // folded away, e.g. a pad by zero): that value is the kernel's input,
      // since the block's arguments go away when it is inlined.
      SmallVector<Value> results;
      for (Value v : yield.getValues()) {
        auto arg = dyn_cast<BlockArgument>(v);
        results.push_back(arg && arg.getOwner() == &body ? kernel.getInputs()[arg.getArgNumber()]
                                                         : v);
      }
      rewriter.eraseOp(yield);
      rewriter.inlineBlockBefore(&body, kernel, kernel.getInputs());
      rewriter.replaceOp(kernel, results);
    }
  }

  /// `kiln.kernels` on the function: per kernel (by index) its name, kind
  /// and what kiln-kernel-costs recorded (FLOPs, bytes moved, ONNX nodes),
  /// for the profiles the runtime writes.
  void recordKernelTable(ArrayRef<KernelOp> kernels) {
    if (kernels.empty())
      return;
    Builder b(&getContext());
    SmallVector<Attribute> table;
    for (KernelOp kernel : kernels) {
      SmallVector<NamedAttribute> entry = {
          b.getNamedAttr("name", b.getStringAttr(kernel.getName())),
          b.getNamedAttr("kind", b.getStringAttr(stringifyKernelKind(kernel.getKind())))};
      if (auto cost = kernel->getAttrOfType<DictionaryAttr>(kCostAttr))
        llvm::append_range(entry, cost.getValue());
      table.push_back(b.getDictionaryAttr(entry));
    }
    getOperation()->setAttr(kKernelTableAttr, b.getArrayAttr(table));
  }
};
} // namespace
