//===- CpuJit.cpp - compile kiln modules for the host CPU ----------------===//
#include "kiln/Target/CpuJit.h"
#include "RawWeights.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Dialect/Kiln/KilnOps.h"
#include "kiln/Support/DataType.h"
#include "kiln_runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/TargetSelect.h"

#include <mutex>

using namespace mlir;
using namespace kiln;

int32_t kiln::onnxDataType(Type t) {
  if (t.isF32()) return kFloat;
  if (t.isF64()) return kDouble;
  if (t.isF16()) return kFloat16;
  if (t.isBF16()) return kBFloat16;
  if (t.isInteger(1)) return kBool;
  if (auto it = dyn_cast<IntegerType>(t)) {
    bool u = it.isUnsigned();
    switch (it.getWidth()) {
    case 8: return u ? kUInt8 : kInt8;
    case 16: return u ? kUInt16 : kInt16;
    case 32: return u ? kUInt32 : kInt32;
    case 64: return u ? kUInt64 : kInt64;
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

/// `text` for a field of the signature: tabs and newlines would break its
/// format.
static std::string signatureText(std::string text) {
  for (char &c : text)
    if (c == '\t' || c == '\n')
      c = ' ';
  return text;
}

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
    s.name = signatureText(s.name);
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
  func::ReturnOp ret;
  if (!main.getBody().empty())
    ret = dyn_cast<func::ReturnOp>(main.getBody().front().getTerminator());
  for (unsigned i = 0; i < ft.getNumResults(); ++i) {
    DictionaryAttr attrs = main.getResultAttrDict(i);
    auto s = spec(ft.getResult(i), attrs, "output" + std::to_string(i));
    if (failed(s))
      return failure();
    auto what = attrs ? attrs.getAs<StringAttr>("kiln.check") : StringAttr();
    if (!what) {
      if (!sig.checks.empty())
        return main.emitError() << "result " << i << " follows the index checks";
      // One tensor returned twice (b = Identity(a), both graph outputs):
      // the later output is an alias of the first.
      if (ret)
        for (unsigned j = 0; j < i; ++j)
          if (ret.getOperand(j) == ret.getOperand(i)) {
            s->aliasOf = (int)j;
            break;
          }
      sig.outputs.push_back(*s);
      continue;
    }
    auto dims = attrs.getAs<DenseI64ArrayAttr>("kiln.check_dims");
    if (!dims || dims.empty() || s->dtype != kInt64 || s->shape.size() != 1 ||
        s->shape[0] != 2 * (int64_t)dims.size() ||
        llvm::any_of(dims.asArrayRef(), [](int64_t d) { return d < 1; }))
      return main.emitError() << "result " << i << " is a malformed index check";
    sig.checks.push_back(
        {*s, signatureText(what.str()), std::vector<int64_t>(dims.asArrayRef())});
  }
  return sig;
}

std::string kiln::serializeSignature(const ModelSignature &sig) {
  std::string out;
  auto add = [&](const char *dir, const TensorSpec &t) {
    out += std::string(dir) + "\t" + t.name + "\t" + std::to_string(t.dtype) + "\t";
    for (size_t i = 0; i < t.shape.size(); ++i)
      out += (i ? "," : "") + std::to_string(t.shape[i]);
    if (t.aliasOf >= 0)
      out += "\t" + std::to_string(t.aliasOf);
    out += "\n";
  };
  for (const TensorSpec &t : sig.inputs)
    add("in", t);
  for (const TensorSpec &t : sig.outputs)
    add("out", t);
  for (const KernelSpec &k : sig.kernels)
    out += "kernel\t" + signatureText(k.name) + "\t" + signatureText(k.kind) + "\t" +
           std::to_string(k.flops) + "\t" + std::to_string(k.bytes) + "\t" +
           signatureText(k.nodes) + "\n";
  for (const IndexCheckSpec &c : sig.checks) {
    out += "check\t" + c.what + "\t" + std::to_string(c.tensor.dtype) + "\t" +
           std::to_string(c.tensor.shape[0]) + "\t";
    for (size_t i = 0; i < c.dims.size(); ++i)
      out += (i ? "," : "") + std::to_string(c.dims[i]);
    out += "\n";
  }
  return out;
}

/// Adds `kiln_model_entry(void **descriptors)`, which calls the C interface
/// of main with one descriptor pointer per input and output, and the
/// `kiln_model_signature` string.
static void addModelABI(ModuleOp module, const ModelSignature &sig) {
  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  Location loc = module.getLoc();
  std::string text = serializeSignature(sig);
  text.push_back('\0');
  auto strType = LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), text.size());
  LLVM::GlobalOp::create(b, loc, strType, /*isConstant=*/true,
                         LLVM::Linkage::External, "kiln_model_signature",
                         b.getStringAttr(text));

  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  auto voidType = LLVM::LLVMVoidType::get(ctx);
  auto callee = module.lookupSymbol<LLVM::LLVMFuncOp>("_mlir_ciface_main");
  auto entry = LLVM::LLVMFuncOp::create(
      b, loc, "kiln_model_entry", LLVM::LLVMFunctionType::get(voidType, {ptrType}));
  Block *body = entry.addEntryBlock(b);
  b.setInsertionPointToStart(body);
  SmallVector<Value> args;
  unsigned n = sig.numTensors();
  for (unsigned i = 0; i < n; ++i) {
    Value slot = LLVM::GEPOp::create(b, loc, ptrType, ptrType, body->getArgument(0),
                                     ArrayRef<LLVM::GEPArg>{(int32_t)i});
    args.push_back(LLVM::LoadOp::create(b, loc, ptrType, slot));
  }
  LLVM::CallOp::create(b, loc, callee, args);
  LLVM::ReturnOp::create(b, loc, ValueRange{});
}

/// Defines each `kiln_par_launch_<n>` left declared by the outlining pass:
/// it stores its arguments in 8-byte slots and calls the runtime's
/// `kiln_parallel_for(count, trampoline, slots)`; the trampoline reloads
/// the arguments and runs `kiln_par_body_<n>` over [begin, end).
static void defineParallelLaunchers(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);
  auto voidType = LLVM::LLVMVoidType::get(ctx);
  SmallVector<LLVM::LLVMFuncOp> launchers;
  for (auto f : module.getOps<LLVM::LLVMFuncOp>())
    if (f.isExternal() && f.getName().starts_with("kiln_par_launch_"))
      launchers.push_back(f);
  if (launchers.empty())
    return;
  b.setInsertionPointToEnd(module.getBody());
  Location loc = module.getLoc();
  auto parallelFor = module.lookupSymbol<LLVM::LLVMFuncOp>("kiln_parallel_for");
  if (!parallelFor)
    parallelFor = LLVM::LLVMFuncOp::create(
        b, loc, "kiln_parallel_for",
        LLVM::LLVMFunctionType::get(voidType, {i64, ptrType, ptrType}));
  for (LLVM::LLVMFuncOp launch : launchers) {
    std::string suffix = launch.getName().drop_front(strlen("kiln_par_launch_")).str();
    auto body = module.lookupSymbol<LLVM::LLVMFuncOp>("kiln_par_body_" + suffix);
    ArrayRef<Type> argTypes = launch.getFunctionType().getParams();
    unsigned numCaptured = argTypes.size() - 1;
    for (auto f : {launch, body}) {
      f->removeAttr("sym_visibility");
      f.setLinkage(LLVM::Linkage::Internal);
    }

    // The trampoline: (slots, begin, end).
    b.setInsertionPointToEnd(module.getBody());
    auto tramp = LLVM::LLVMFuncOp::create(
        b, loc, "kiln_par_tramp_" + suffix,
        LLVM::LLVMFunctionType::get(voidType, {ptrType, i64, i64}),
        LLVM::Linkage::Internal);
    Block *entry = tramp.addEntryBlock(b);
    Block *header = new Block(), *loopBody = new Block(), *exit = new Block();
    tramp.getBody().push_back(header);
    tramp.getBody().push_back(loopBody);
    tramp.getBody().push_back(exit);
    header->addArgument(i64, loc);
    b.setInsertionPointToEnd(entry);
    LLVM::BrOp::create(b, loc, ValueRange{entry->getArgument(1)}, header);
    b.setInsertionPointToEnd(header);
    Value more = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::slt,
                                      header->getArgument(0), entry->getArgument(2));
    LLVM::CondBrOp::create(b, loc, more, loopBody, exit);
    b.setInsertionPointToEnd(loopBody);
    SmallVector<Value> callArgs{header->getArgument(0)};
    for (unsigned k = 0; k < numCaptured; ++k) {
      Value slot = LLVM::GEPOp::create(b, loc, ptrType, i64, entry->getArgument(0),
                                       ArrayRef<LLVM::GEPArg>{(int32_t)k});
      callArgs.push_back(LLVM::LoadOp::create(b, loc, argTypes[k + 1], slot));
    }
    LLVM::CallOp::create(b, loc, body, callArgs);
    Value one = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(1));
    Value next = LLVM::AddOp::create(b, loc, header->getArgument(0), one);
    LLVM::BrOp::create(b, loc, ValueRange{next}, header);
    b.setInsertionPointToEnd(exit);
    LLVM::ReturnOp::create(b, loc, ValueRange{});

    // The launcher: spill the captured values, hand them to the pool.
    Block *lentry = launch.addEntryBlock(b);
    b.setInsertionPointToEnd(lentry);
    Value count = LLVM::ConstantOp::create(
        b, loc, i64, b.getI64IntegerAttr(std::max<unsigned>(numCaptured, 1)));
    Value slots = LLVM::AllocaOp::create(b, loc, ptrType, i64, count);
    for (unsigned k = 0; k < numCaptured; ++k) {
      Value slot = LLVM::GEPOp::create(b, loc, ptrType, i64, slots,
                                       ArrayRef<LLVM::GEPArg>{(int32_t)k});
      LLVM::StoreOp::create(b, loc, lentry->getArgument(k + 1), slot);
    }
    Value trampAddr = LLVM::AddressOfOp::create(b, loc, ptrType, tramp.getName());
    LLVM::CallOp::create(b, loc, parallelFor,
                         ValueRange{lentry->getArgument(0), trampAddr, slots});
    LLVM::ReturnOp::create(b, loc, ValueRange{});
  }
}

FailureOr<ModelSignature> kiln::prepareModelEntry(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  auto sig = readSignature(module);
  if (failed(sig))
    return failure();
  DialectRegistry registry;
  registerCodegenDialects(registry);
  ctx->appendDialectRegistry(registry);
  auto main = module.lookupSymbol<func::FuncOp>("main");
  main->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
  // An output that aliases an earlier one is returned once.
  llvm::BitVector aliases(main.getNumResults());
  for (auto [i, t] : llvm::enumerate(sig->outputs))
    if (t.aliasOf >= 0)
      aliases.set(i);
  if (aliases.any()) {
    main.getBody().front().getTerminator()->eraseOperands(aliases);
    if (failed(main.eraseResults(aliases)))
      return main.emitError("cannot drop the repeated outputs of main");
  }
  // The interface names live in the signature; LLVM does not know them.
  for (unsigned i = 0; i < main.getNumArguments(); ++i)
    main.removeArgAttr(i, "kiln.name");
  for (unsigned i = 0; i < main.getNumResults(); ++i)
    for (StringRef attr : {"kiln.name", "kiln.check", "kiln.check_dims"})
      main.removeResultAttr(i, StringAttr::get(ctx, attr));
  return sig;
}

FailureOr<ModelSignature> kiln::lowerToCpuLLVM(ModuleOp module,
                                               const PipelineOptions &options) {
  MLIRContext *ctx = module.getContext();
  auto sig = prepareModelEntry(module);
  if (failed(sig))
    return failure();

  if (llvm::Error e = verifyOptions(options, Stage::LLVM))
    return module.emitError(llvm::toString(std::move(e)));
  PassManager pm(ctx);
  applyDebugOptions(pm, options);
  buildPipeline(pm, options, Stage::Kiln, Stage::LLVM);
  if (failed(pm.run(module)))
    return failure();
  defineParallelLaunchers(module);
  // The kernel table of the profile markers (kiln-cpu-profile-markers).
  if (auto table = module->getAttrOfType<ArrayAttr>(kKernelTableAttr)) {
    for (auto entry : table.getAsRange<DictionaryAttr>()) {
      KernelSpec k;
      if (auto s = entry.getAs<StringAttr>("name"))
        k.name = s.str();
      if (auto s = entry.getAs<StringAttr>("kind"))
        k.kind = s.str();
      if (auto s = entry.getAs<StringAttr>("nodes"))
        k.nodes = s.str();
      if (auto i = entry.getAs<IntegerAttr>("flops"))
        k.flops = i.getInt();
      if (auto i = entry.getAs<IntegerAttr>("bytes"))
        k.bytes = i.getInt();
      sig->kernels.push_back(std::move(k));
    }
    module->removeAttr(kKernelTableAttr);
  }
  addModelABI(module, *sig);
  return sig;
}

CpuJitModel::~CpuJitModel() { kiln_model_free(model); }

FailureOr<std::unique_ptr<CpuJitModel>> CpuJitModel::compile(ModuleOp module,
                                                            const PipelineOptions &options) {
  static std::once_flag targetInit;
  std::call_once(targetInit, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  auto sig = lowerToCpuLLVM(module, options);
  if (failed(sig))
    return failure();

  // Optimize for the host, like the ahead-of-time path, so that both run
  // the same code.
  auto hostBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!hostBuilder)
    return module.emitError() << "cannot target the host: "
                              << llvm::toString(hostBuilder.takeError());
  auto hostMachine = hostBuilder->createTargetMachine();
  if (!hostMachine)
    return module.emitError() << "cannot target the host: "
                              << llvm::toString(hostMachine.takeError());
  // ExecutionEngineOptions::transformer is a function_ref: the function it
  // refers to must outlive ExecutionEngine::create.
  std::function<llvm::Error(llvm::Module *)> optimizeCode =
      makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0, hostMachine->get());
  RawWeights weights = RawWeights::detach(module);
  // Weights in a file's place are read where they are, in the imported
  // model's memory (its context outlives the compiled model).
  if (failed(placeWeights(module, weights, options.weights, "")))
    return failure();
  std::function<llvm::Error(llvm::Module *)> optimize = [&](llvm::Module *m) -> llvm::Error {
    if (llvm::Error e = optimizeCode(m))
      return e;
    weights.attach(*m);
    return llvm::Error::success();
  };
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = optimize;
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  auto engine = ExecutionEngine::create(module, engineOptions);
  if (!engine) {
    std::string msg = llvm::toString(engine.takeError());
    return module.emitError() << "JIT compilation failed: " << msg;
  }
  auto entry = (*engine)->lookup("kiln_model_entry");
  if (!entry) {
    std::string msg = llvm::toString(entry.takeError());
    return module.emitError() << "JIT compilation failed: " << msg;
  }
  if (weights.inFile()) {
    auto slots = (*engine)->lookup(KILN_MODEL_WEIGHT_SLOTS_SYMBOL);
    if (!slots) {
      std::string msg = llvm::toString(slots.takeError());
      return module.emitError() << "JIT compilation failed: " << msg;
    }
    weights.fillSlots((const void **)*slots);
  }
  // The runtime's messages and profiles name the model by its graph.
  std::string name = "<jit>";
  if (auto graph = module->getAttrOfType<StringAttr>("kiln.graph_name"))
    if (!graph.getValue().empty())
      name = graph.str();
  std::unique_ptr<CpuJitModel> model(new CpuJitModel());
  model->sig = std::move(*sig);
  model->engine = std::move(*engine);
  model->model = kiln_model_from_entry((kiln_entry_fn)*entry,
                                       serializeSignature(model->sig).c_str(), name.c_str());
  if (!model->model)
    return module.emitError() << kiln_last_error();
  return model;
}

llvm::Error CpuJitModel::run(ArrayRef<const void *> inputs,
                             ArrayRef<void *> outputs) {
  if (inputs.size() != sig.inputs.size() || outputs.size() != sig.outputs.size())
    return llvm::createStringError(
        "expected " + std::to_string(sig.inputs.size()) + " inputs and " +
        std::to_string(sig.outputs.size()) + " outputs");
  if (kiln_model_run(model, inputs.data(), outputs.data()) != 0)
    return llvm::createStringError(kiln_last_error());
  return llvm::Error::success();
}
