//===- CpuJit.cpp - compile and run a kiln module on the host CPU --------===//
#include "kiln/Target/CpuJit.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Support/DataType.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/Support/TargetSelect.h"

#include <mutex>

using namespace mlir;
using namespace kiln;

int32_t kiln::onnxDataType(Type t) {
  if (t.isF32()) return 1;
  if (t.isF64()) return 11;
  if (t.isF16()) return 10;
  if (t.isBF16()) return 16;
  if (t.isInteger(1)) return 9;
  if (auto it = dyn_cast<IntegerType>(t)) {
    bool u = it.isUnsigned();
    switch (it.getWidth()) {
    case 8: return u ? 2 : 3;
    case 16: return u ? 4 : 5;
    case 32: return u ? 12 : 6;
    case 64: return u ? 13 : 7;
    default: return 0;
    }
  }
  return 0;
}

int64_t TensorSpec::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int64_t TensorSpec::elementBytes() const { return dataTypeBytes(dtype); }

FailureOr<ModelSignature> kiln::readSignature(ModuleOp module) {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return module.emitError("the module has no @main function");
  ModelSignature sig;
  auto spec = [&](Type t, DictionaryAttr attrs, std::string fallback)
      -> FailureOr<TensorSpec> {
    auto rt = dyn_cast<RankedTensorType>(t);
    if (!rt || onnxDataType(rt.getElementType()) == 0)
      return main.emitError() << "unsupported model interface type " << t;
    TensorSpec s;
    auto name = attrs ? attrs.getAs<StringAttr>("kiln.name") : StringAttr();
    s.name = name ? name.str() : fallback;
    s.dtype = onnxDataType(rt.getElementType());
    s.shape.assign(rt.getShape().begin(), rt.getShape().end());
    return s;
  };
  FunctionType ft = main.getFunctionType();
  for (unsigned i = 0; i < ft.getNumInputs(); ++i) {
    auto s = spec(ft.getInput(i), main.getArgAttrDict(i), "input" + std::to_string(i));
    if (failed(s))
      return failure();
    sig.inputs.push_back(*s);
  }
  for (unsigned i = 0; i < ft.getNumResults(); ++i) {
    auto s = spec(ft.getResult(i), main.getResultAttrDict(i), "output" + std::to_string(i));
    if (failed(s))
      return failure();
    sig.outputs.push_back(*s);
  }
  return sig;
}

CpuJitModel::~CpuJitModel() = default;

FailureOr<std::unique_ptr<CpuJitModel>> CpuJitModel::compile(ModuleOp module) {
  static std::once_flag targetInit;
  std::call_once(targetInit, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  MLIRContext *ctx = module.getContext();
  auto sig = readSignature(module);
  if (failed(sig))
    return failure();
  DialectRegistry registry;
  registerCodegenDialects(registry);
  ctx->appendDialectRegistry(registry);
  auto main = module.lookupSymbol<func::FuncOp>("main");
  main->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
  // The interface names live in `sig`; LLVM translation does not know them.
  for (unsigned i = 0; i < main.getNumArguments(); ++i)
    main.removeArgAttr(i, "kiln.name");
  for (unsigned i = 0; i < main.getNumResults(); ++i)
    main.removeResultAttr(i, StringAttr::get(ctx, "kiln.name"));

  PassManager pm(ctx);
  buildKilnToLinalgPipeline(pm);
  buildCpuLinalgToLLVMPipeline(pm);
  if (failed(pm.run(module)))
    return failure();

  ExecutionEngineOptions options;
  options.transformer = makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                                  /*targetMachine=*/nullptr);
  options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  auto engine = ExecutionEngine::create(module, options);
  if (!engine) {
    std::string msg = llvm::toString(engine.takeError());
    return module.emitError() << "JIT compilation failed: " << msg;
  }
  std::unique_ptr<CpuJitModel> model(new CpuJitModel());
  model->sig = std::move(*sig);
  model->engine = std::move(*engine);
  return model;
}

namespace {
/// A memref descriptor for a static, contiguous buffer:
/// {allocated, aligned, offset, sizes[rank], strides[rank]}.
std::vector<int64_t> makeDescriptor(const void *data,
                                    const std::vector<int64_t> &shape) {
  std::vector<int64_t> d;
  d.push_back(reinterpret_cast<int64_t>(data));
  d.push_back(reinterpret_cast<int64_t>(data));
  d.push_back(0);
  d.insert(d.end(), shape.begin(), shape.end());
  int64_t stride = 1;
  std::vector<int64_t> strides(shape.size());
  for (int64_t i = (int64_t)shape.size() - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= shape[i];
  }
  d.insert(d.end(), strides.begin(), strides.end());
  return d;
}
} // namespace

llvm::Error CpuJitModel::run(ArrayRef<const void *> inputs,
                             ArrayRef<void *> outputs) {
  if (inputs.size() != sig.inputs.size() || outputs.size() != sig.outputs.size())
    return llvm::createStringError(
        "expected " + std::to_string(sig.inputs.size()) + " inputs and " +
        std::to_string(sig.outputs.size()) + " outputs");
  std::vector<std::vector<int64_t>> descriptors;
  for (size_t i = 0; i < inputs.size(); ++i)
    descriptors.push_back(makeDescriptor(inputs[i], sig.inputs[i].shape));
  for (size_t i = 0; i < outputs.size(); ++i)
    descriptors.push_back(makeDescriptor(outputs[i], sig.outputs[i].shape));
  // The C interface takes a pointer to each descriptor; the packed wrapper
  // takes a pointer to each of those arguments.
  std::vector<void *> descriptorPtrs, args;
  for (auto &d : descriptors)
    descriptorPtrs.push_back(d.data());
  for (auto &p : descriptorPtrs)
    args.push_back(&p);
  return engine->invokePacked("_mlir_ciface_main", args);
}
