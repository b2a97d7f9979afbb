//===- FusionReport.cpp - describe a model's kernel partition ------------===//
#include "kiln/Transforms/FusionReport.h"
#include "kiln/Dialect/Kiln/KilnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace kiln;

namespace {

int64_t numel(Type t) {
  auto shaped = dyn_cast<ShapedType>(t);
  return shaped && shaped.hasStaticShape() ? shaped.getNumElements() : 0;
}

int64_t bytesOf(Type t) {
  auto shaped = dyn_cast<ShapedType>(t);
  if (!shaped)
    return 0;
  int64_t bits = shaped.getElementTypeBitWidth();
  return numel(t) * std::max<int64_t>(1, (bits + 7) / 8);
}

/// Floating-point (or integer) operations of one op, counting a fused
/// multiply-add as two.
int64_t flopsOf(Operation *op) {
  auto resultElems = [&] { return op->getNumResults() ? numel(op->getResult(0).getType()) : 0; };
  if (auto mm = dyn_cast<MatMulOp>(op)) {
    auto lhs = cast<ShapedType>(mm.getLhs().getType());
    return 2 * resultElems() * lhs.getShape().back();
  }
  if (auto att = dyn_cast<AttentionOp>(op)) {
    // Q K^T and P V: 2 * B * H * Sq * Sk * (D + Dv).
    ArrayRef<int64_t> q = att.getQuery().getType().getShape();
    int64_t sk = att.getKey().getType().getDimSize(2);
    int64_t dv = att.getValue().getType().getDimSize(3);
    return 2 * q[0] * q[1] * q[2] * sk * (q[3] + dv);
  }
  if (auto conv = dyn_cast<ConvOp>(op)) {
    auto w = cast<ShapedType>(conv.getWeight().getType());
    int64_t perOutput = w.getNumElements() / std::max<int64_t>(1, w.getDimSize(0));
    return 2 * resultElems() * perOutput + (conv.getBias() ? resultElems() : 0);
  }
  if (auto conv = dyn_cast<ConvTransposeOp>(op)) {
    auto w = cast<ShapedType>(conv.getWeight().getType());
    int64_t perInput = w.getNumElements() / std::max<int64_t>(1, w.getDimSize(0));
    return 2 * numel(conv.getInput().getType()) * perInput;
  }
  if (auto pool = dyn_cast<PoolOp>(op)) {
    int64_t window = 1;
    for (int64_t k : pool.getKernelShape())
      window *= k;
    return resultElems() * window;
  }
  if (isa<ReduceOp, ArgReduceOp, CumSumOp, TopKOp>(op))
    return numel(op->getOperand(0).getType());
  if (isa<SoftmaxOp>(op))
    return 5 * resultElems();
  if (isa<LayerNormOp, InstanceNormOp>(op))
    return 8 * resultElems();
  if (isa<BatchNormOp>(op))
    return 2 * resultElems();
  if (isa<UnaryOp, BinaryOp, SelectOp, CastOp>(op))
    return resultElems();
  return 0;
}

void collectNodeNames(Location loc, SmallVectorImpl<std::string> &names,
                      llvm::StringSet<> &seen) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    if (seen.insert(name.getName().getValue()).second)
      names.push_back(name.getName().str());
    return;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location l : fused.getLocations())
      collectNodeNames(l, names, seen);
}

} // namespace

KernelCost kiln::kernelCost(Operation *op) {
  KernelCost cost;
  auto kernel = dyn_cast<KernelOp>(op);
  if (!kernel)
    return cost;
  llvm::StringSet<> seen;
  SmallVector<std::string> nodes;
  for (Operation &inner : kernel.getBody().front().without_terminator()) {
    if (isa<ConstantOp>(inner))
      continue;
    collectNodeNames(inner.getLoc(), nodes, seen);
    cost.flops += flopsOf(&inner);
  }
  cost.nodes.assign(nodes.begin(), nodes.end());
  for (Value v : kernel.getInputs())
    cost.bytes += bytesOf(v.getType());
  for (Value v : kernel.getResults())
    cost.bytes += bytesOf(v.getType());
  return cost;
}

std::map<int64_t, std::vector<std::string>> kiln::kernelAttributes(ModuleOp module,
                                                                   StringRef name) {
  std::map<int64_t, std::vector<std::string>> found;
  module.walk([&](Operation *op) {
    std::optional<int64_t> id = getKernelId(op);
    Attribute a = op->getAttr(name);
    if (!id || !a)
      return;
    std::string text;
    llvm::raw_string_ostream os(text);
    a.print(os);
    std::vector<std::string> &list = found[*id];
    if (!llvm::is_contained(list, text))
      list.push_back(text);
  });
  return found;
}

std::string kiln::fusionReportJson(ModuleOp module,
                                   const std::map<int64_t, std::vector<std::string>> &gpuStrategies) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::json::OStream json(os, /*IndentSize=*/2);

  int64_t kernels = 0, views = 0, totalFlops = 0, totalBytes = 0;
  std::map<std::string, int64_t> byKind;
  llvm::StringSet<> coveredNodes;
  // Data flow between kernels: what each kernel reads, through the views
  // between them; graph inputs by name, weights left out.
  llvm::DenseMap<Operation *, int64_t> kernelIndex;
  module.walk([&](KernelOp k) { kernelIndex.try_emplace(k, (int64_t)kernelIndex.size()); });
  auto sources = [&](Value v, std::vector<int64_t> &fromKernels,
                     std::vector<std::string> &fromInputs) {
    SmallVector<Value> work{v};
    llvm::DenseSet<Value> seen;
    while (!work.empty() && seen.size() < 64) {
      Value x = work.pop_back_val();
      if (!seen.insert(x).second)
        continue;
      if (auto arg = dyn_cast<BlockArgument>(x)) {
        auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
        std::string name = "input " + std::to_string(arg.getArgNumber());
        if (func)
          if (auto n = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "kiln.name"))
            name = n.str();
        if (!llvm::is_contained(fromInputs, name))
          fromInputs.push_back(name);
        continue;
      }
      Operation *def = x.getDefiningOp();
      if (auto it = kernelIndex.find(def); it != kernelIndex.end()) {
        if (!llvm::is_contained(fromKernels, it->second))
          fromKernels.push_back(it->second);
        continue;
      }
      if (!def || isa<ConstantOp>(def) || def->getNumOperands() == 0)
        continue;
      for (Value operand : def->getOperands())
        work.push_back(operand);
    }
  };
  auto shapeText = [](Type t) {
    auto shaped = dyn_cast<ShapedType>(t);
    if (!shaped || !shaped.hasRank())
      return std::string("?");
    std::string s;
    for (int64_t d : shaped.getShape())
      s += (s.empty() ? "" : "x") + (ShapedType::isDynamic(d) ? std::string("?")
                                                                 : std::to_string(d));
    std::string et;
    llvm::raw_string_ostream es(et);
    shaped.getElementType().print(es);
    return (s.empty() ? std::string("scalar") : s) + " " + et;
  };
  json.objectBegin();
  if (auto name = module->getAttrOfType<StringAttr>("kiln.graph_name"))
    json.attribute("model", name.getValue());
  json.attributeBegin("kernels");
  json.arrayBegin();
  module.walk([&](Operation *op) {
    if (isa<ReshapeOp, SliceOp>(op) && !op->getParentOfType<KernelOp>())
      ++views;
    auto kernel = dyn_cast<KernelOp>(op);
    if (!kernel)
      return;
    ++kernels;
    std::string kind = stringifyKernelKind(kernel.getKind()).str();
    ++byKind[kind];
    KernelCost cost = kernelCost(kernel);
    const std::vector<std::string> &nodes = cost.nodes;
    int64_t flops = cost.flops, bytes = cost.bytes;
    SmallVector<std::string> ops;
    for (Operation &inner : kernel.getBody().front().without_terminator())
      if (!isa<ConstantOp>(inner))
        ops.push_back(inner.getName().getStringRef().str());
    for (const std::string &n : nodes)
      coveredNodes.insert(n);
    totalFlops += flops;
    totalBytes += bytes;
    json.objectBegin();
    json.attribute("name", kernel.getName());
    json.attribute("kind", kind);
    json.attributeArray("nodes", [&] {
      for (const std::string &n : nodes)
        json.value(n);
    });
    json.attributeArray("ops", [&] {
      for (const std::string &o : ops)
        json.value(o);
    });
    json.attribute("flops", flops);
    json.attribute("bytes", bytes);
    std::vector<int64_t> fromKernels;
    std::vector<std::string> fromInputs;
    for (Value v : kernel.getInputs())
      sources(v, fromKernels, fromInputs);
    json.attributeArray("reads_kernels", [&] {
      for (int64_t k : fromKernels)
        json.value(k);
    });
    json.attributeArray("reads_inputs", [&] {
      for (const std::string &n : fromInputs)
        json.value(n);
    });
    json.attributeArray("shapes", [&] {
      for (Value r : kernel.getResults())
        json.value(shapeText(r.getType()));
    });
    if (auto it = gpuStrategies.find(kernels - 1); it != gpuStrategies.end())
      json.attributeArray("gpu_strategies", [&] {
        for (const std::string &s : it->second)
          json.value(s);
      });
    json.objectEnd();
  });
  json.arrayEnd();
  json.attributeEnd();

  // The graph's inputs and outputs, and what computes each output.
  json.attributeBegin("graph");
  json.objectBegin();
  module.walk([&](func::FuncOp func) {
    if (func.isExternal() || func.getName() != "main")
      return;
    json.attributeArray("inputs", [&] {
      for (BlockArgument arg : func.getArguments()) {
        json.objectBegin();
        auto n = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "kiln.name");
        json.attribute("name", n ? n.str() : "input " + std::to_string(arg.getArgNumber()));
        json.attribute("shape", shapeText(arg.getType()));
        json.objectEnd();
      }
    });
    auto ret = dyn_cast<func::ReturnOp>(func.getBody().back().getTerminator());
    json.attributeArray("outputs", [&] {
      if (!ret)
        return;
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        json.objectBegin();
        auto n = func.getResultAttrOfType<StringAttr>(i, "kiln.name");
        json.attribute("name", n ? n.str() : "output " + std::to_string(i));
        json.attribute("shape", shapeText(v.getType()));
        std::vector<int64_t> fromKernels;
        std::vector<std::string> fromInputs;
        sources(v, fromKernels, fromInputs);
        json.attributeArray("from_kernels", [&] {
          for (int64_t k : fromKernels)
            json.value(k);
        });
        json.attributeArray("from_inputs", [&] {
          for (const std::string &name : fromInputs)
            json.value(name);
        });
        json.objectEnd();
      }
    });
  });
  json.objectEnd();
  json.attributeEnd();

  json.attributeBegin("summary");
  json.objectBegin();
  if (auto nodes = module->getAttrOfType<IntegerAttr>("kiln.onnx_nodes"))
    json.attribute("onnx_nodes", nodes.getInt());
  json.attribute("nodes_in_kernels", (int64_t)coveredNodes.size());
  json.attribute("kernels", kernels);
  json.attributeObject("kernels_by_kind", [&] {
    for (auto &[kind, count] : byKind)
      json.attribute(kind, count);
  });
  json.attribute("views", views);
  json.attribute("flops", totalFlops);
  json.attribute("bytes", totalBytes);
  json.objectEnd();
  json.attributeEnd();
  json.objectEnd();
  os << "\n";
  return text;
}
