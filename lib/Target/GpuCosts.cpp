//===- GpuCosts.cpp - GPU roofline and kernel resources for reports ------===//
//
// Without a GPU, what a model's kernels will cost on one is estimated from
// what is known at compile time: each fused kernel's FLOPs and bytes (the
// fusion report) against the architecture's peaks (a roofline), and each
// GPU kernel's registers, spills and shared memory as ptxas reports them,
// with the occupancy they allow.
//
//===----------------------------------------------------------------------===//
#include "Ptxas.h"
#include "kiln/Dialect/KilnGPU/KilnGPU.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Target/CudaArtifact.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"

#include <algorithm>
#include <map>

using namespace mlir;

namespace {

/// Published peaks (dense, no sparsity) and the per-SM limits that bound
/// occupancy. Tensor-core peaks are those of the newest instructions; the
/// mma.sync kernels reach a fraction of them on sm_90 (wgmma is faster).
struct ArchPeaks {
  const char *device;
  double tensor16Tflops, tf32Tflops, fp32Tflops, tbps;
  int64_t sms, regsPerSm, threadsPerSm, blocksPerSm, sharedPerSm, reservedPerBlock;
};

std::optional<ArchPeaks> archPeaks(StringRef arch) {
  if (arch == "sm_80")
    return ArchPeaks{"A100 SXM4 80GB", 312, 156, 19.5, 2.039, 108, 65536, 2048, 32,
                     164 * 1024, 1024};
  if (arch == "sm_90" || arch == "sm_90a")
    return ArchPeaks{"H100 SXM5", 989.4, 494.7, 66.9, 3.35, 132, 65536, 2048, 32, 228 * 1024,
                     1024};
  return std::nullopt;
}

struct KernelResources {
  int64_t registers = 0, spillStores = 0, spillLoads = 0, stackBytes = 0, sharedBytes = 0;
};

/// ptxas -v for `arch`: the resources of each entry function, or an error
/// message (ptxas missing, or it rejects the PTX).
llvm::Expected<std::map<std::string, KernelResources>> ptxasResources(StringRef ptx,
                                                                      StringRef arch) {
  std::optional<std::string> ptxas = kiln::findPtxasTool();
  if (!ptxas)
    return llvm::createStringError("ptxas not found (PATH, CUDA_HOME/bin, /usr/local/cuda/bin)");
  SmallString<128> ptxPath, cubinPath, logPath;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("kiln-report", "ptx", fd, ptxPath))
    return llvm::createStringError("cannot create a temporary PTX file");
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << ptx;
  }
  if (llvm::sys::fs::createTemporaryFile("kiln-report", "cubin", cubinPath) ||
      llvm::sys::fs::createTemporaryFile("kiln-report", "log", logPath))
    return llvm::createStringError("cannot create temporary files for ptxas");
  llvm::scope_exit cleanup([&] {
    llvm::sys::fs::remove(ptxPath);
    llvm::sys::fs::remove(cubinPath);
    llvm::sys::fs::remove(logPath);
  });
  std::string archFlag = "-arch=" + arch.str();
  SmallVector<StringRef> args{*ptxas, archFlag, "-v", "-O3", ptxPath, "-o", cubinPath};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath), StringRef(logPath)};
  std::string err;
  int rc = llvm::sys::ExecuteAndWait(*ptxas, args, std::nullopt, redirects, 0, 0, &err);
  std::string log;
  if (auto buf = llvm::MemoryBuffer::getFile(logPath))
    log = (*buf)->getBuffer().str();
  if (rc != 0)
    return llvm::createStringError("ptxas rejected the kernels for " + arch.str() + ": " +
                                   (log.empty() ? err : StringRef(log).trim().str()));
  // "Compiling entry function 'NAME' for 'sm_80'", then "N bytes stack
  // frame, N bytes spill stores, N bytes spill loads" and "Used N
  // registers, ..., N bytes smem, ...".
  std::map<std::string, KernelResources> found;
  llvm::Regex entry("Compiling entry function '([^']+)'");
  llvm::Regex frame("([0-9]+) bytes stack frame, ([0-9]+) bytes spill stores, ([0-9]+) bytes "
                    "spill loads");
  llvm::Regex used("Used ([0-9]+) registers");
  llvm::Regex smem("([0-9]+) bytes smem");
  KernelResources *current = nullptr;
  SmallVector<StringRef> lines;
  StringRef(log).split(lines, '\n');
  for (StringRef line : lines) {
    SmallVector<StringRef> m;
    if (entry.match(line, &m)) {
      current = &found[m[1].str()];
      continue;
    }
    if (!current)
      continue;
    if (frame.match(line, &m)) {
      m[1].getAsInteger(10, current->stackBytes);
      m[2].getAsInteger(10, current->spillStores);
      m[3].getAsInteger(10, current->spillLoads);
    }
    if (used.match(line, &m))
      m[1].getAsInteger(10, current->registers);
    if (smem.match(line, &m))
      m[1].getAsInteger(10, current->sharedBytes);
  }
  return found;
}

/// One GPU kernel and how the host launches it (the largest launch when it
/// is launched several times).
struct GpuKernel {
  std::string name, strategy, note;
  int64_t threads = 0, blocks = 0, dynamicShared = 0, launches = 0;
};

/// Resident blocks per SM: the least of what registers (allocated per warp
/// in units of 256), shared memory (plus the per-block reservation),
/// threads and the block limit allow.
int64_t blocksPerSm(const ArchPeaks &a, int64_t threads, int64_t registers, int64_t shared) {
  int64_t warps = (threads + 31) / 32;
  int64_t perWarpRegs = (registers * 32 + 255) / 256 * 256;
  int64_t byRegs = perWarpRegs ? a.regsPerSm / (perWarpRegs * warps) : a.blocksPerSm;
  int64_t byShared = a.sharedPerSm / (shared + a.reservedPerBlock);
  int64_t byThreads = a.threadsPerSm / (warps * 32);
  return std::max<int64_t>(0, std::min({byRegs, byShared, byThreads, a.blocksPerSm}));
}

} // namespace

FailureOr<std::string> kiln::addGpuCostsToFusionReport(ModuleOp module,
                                                       const PipelineOptions &options,
                                                       StringRef report) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(report);
  if (!parsed)
    return module.emitError("fusion report is not JSON: ") << llvm::toString(parsed.takeError());
  llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return module.emitError("fusion report is not a JSON object");

  // The GPU kernels and their launches.
  OwningOpRef<ModuleOp> lowered = module.clone();
  {
    PassManager pm(module.getContext());
    buildPipeline(pm, options, Stage::Imported, Stage::Gpu);
    if (failed(pm.run(*lowered)))
      return failure();
  }
  std::map<std::string, GpuKernel> kernels;
  lowered->walk([&](gpu::GPUFuncOp f) {
    if (!f.isKernel())
      return;
    GpuKernel &k = kernels[f.getName().str()];
    k.name = f.getName().str();
    if (auto s = dyn_cast_or_null<StrategyAttr>(f->getAttr(kStrategyAttr))) {
      std::string text;
      llvm::raw_string_ostream os(text);
      Attribute(s).print(os);
      k.strategy = text;
      k.note = s.getNote().str();
    }
  });
  int64_t launches = 0;
  lowered->walk([&](gpu::LaunchFuncOp launch) {
    ++launches;
    auto it = kernels.find(launch.getKernelName().str());
    if (it == kernels.end())
      return;
    auto value = [](Value v) { return getConstantIntValue(v).value_or(0); };
    int64_t threads = value(launch.getBlockSizeX()) * value(launch.getBlockSizeY()) *
                      value(launch.getBlockSizeZ());
    int64_t blocks = value(launch.getGridSizeX()) * value(launch.getGridSizeY()) *
                     value(launch.getGridSizeZ());
    GpuKernel &k = it->second;
    ++k.launches;
    if (blocks * threads >= k.blocks * k.threads) {
      k.threads = threads, k.blocks = blocks;
      k.dynamicShared =
          launch.getDynamicSharedMemorySize() ? value(launch.getDynamicSharedMemorySize()) : 0;
    }
  });

  // Their PTX, and what ptxas says of it.
  std::string ptx;
  {
    PassManager pm(module.getContext());
    buildGpuToPtxPipeline(pm, options.gpuArch);
    if (failed(pm.run(*lowered)))
      return failure();
    lowered->walk([&](gpu::BinaryOp binary) {
      for (Attribute object : binary.getObjects())
        if (auto obj = dyn_cast<gpu::ObjectAttr>(object))
          if (obj.getFormat() == gpu::CompilationTarget::Assembly)
            ptx += obj.getObject().str();
    });
  }
  std::string ptxasArch = options.gpuArch == "sm_90" ? "sm_90a" : options.gpuArch;
  llvm::Expected<std::map<std::string, KernelResources>> resources =
      ptxasResources(ptx, ptxasArch);
  std::string resourcesNote;
  if (!resources) {
    resourcesNote = llvm::toString(resources.takeError());
    resources = std::map<std::string, KernelResources>();
  }

  std::optional<ArchPeaks> peaks = archPeaks(options.gpuArch);
  auto precisionPeak = [&](bool tensorCores) {
    if (!tensorCores)
      return peaks->fp32Tflops;
    return options.precision == Precision::TF32 ? peaks->tf32Tflops : peaks->tensor16Tflops;
  };

  // Per fused kernel: the roofline, at the tensor-core peak where its GPU
  // strategy uses tensor cores.
  double totalUs = 0;
  if (llvm::json::Array *list = root->getArray("kernels"))
    for (llvm::json::Value &v : *list) {
      llvm::json::Object *k = v.getAsObject();
      if (!k)
        continue;
      double flops = k->getNumber("flops").value_or(0);
      double bytes = k->getNumber("bytes").value_or(0);
      bool tensorCores = false;
      llvm::json::Array matched;
      if (llvm::json::Array *strategies = k->getArray("gpu_strategies"))
        for (llvm::json::Value &s : *strategies)
          if (auto text = s.getAsString()) {
            tensorCores |= text->contains("tensor_cores = true");
            for (auto &[name, g] : kernels)
              if (g.strategy == *text)
                matched.push_back(name);
          }
      llvm::json::Object gpu{{"kernels", std::move(matched)},
                             {"tensor_cores", tensorCores}};
      if (peaks) {
        double computeUs = flops / (precisionPeak(tensorCores) * 1e12) * 1e6;
        double memoryUs = bytes / (peaks->tbps * 1e12) * 1e6;
        gpu["roofline_ns"] = (int64_t)std::llround(std::max(computeUs, memoryUs) * 1000);
        gpu["bound"] = computeUs > memoryUs ? "compute" : "memory";
        totalUs += std::max(computeUs, memoryUs);
      }
      (*k)["gpu"] = std::move(gpu);
    }

  llvm::json::Array kernelList;
  for (auto &[name, g] : kernels) {
    llvm::json::Object o{{"name", name},
                         {"strategy", g.note},
                         {"launches", g.launches},
                         {"threads", g.threads},
                         {"blocks", g.blocks},
                         {"dynamic_shared_bytes", g.dynamicShared}};
    auto r = resources->find(name);
    if (r != resources->end()) {
      const KernelResources &res = r->second;
      o["registers"] = res.registers;
      o["spill_bytes"] = res.spillStores + res.spillLoads;
      o["stack_bytes"] = res.stackBytes;
      o["static_shared_bytes"] = res.sharedBytes;
      if (peaks && g.threads > 0) {
        int64_t resident =
            blocksPerSm(*peaks, g.threads, res.registers, res.sharedBytes + g.dynamicShared);
        int64_t warps = resident * ((g.threads + 31) / 32);
        o["blocks_per_sm"] = resident;
        // Resident warps per SM in percent of the most.
        o["occupancy_percent"] = (int64_t)std::llround(100.0 * warps / (peaks->threadsPerSm / 32));
        // Grid blocks per wave of resident blocks, in percent: under 100
        // leaves SMs idle.
        o["waves_percent"] =
            resident ? (int64_t)std::llround(100.0 * g.blocks / (resident * peaks->sms)) : 0;
      }
    }
    kernelList.push_back(std::move(o));
  }
  llvm::json::Object gpu{{"arch", options.gpuArch},
                         {"precision", stringifyPrecision(options.precision)},
                         {"launches", launches},
                         {"kernels", std::move(kernelList)}};
  if (!resourcesNote.empty())
    gpu["resources_note"] = resourcesNote;
  if (peaks) {
    gpu["device"] = peaks->device;
    // Whole units: GFLOP/s, GB/s, ns.
    gpu["peak_gflops"] = (int64_t)std::llround(precisionPeak(options.precision != Precision::FP32) * 1000);
    gpu["peak_fp32_gflops"] = (int64_t)std::llround(peaks->fp32Tflops * 1000);
    gpu["peak_gbps"] = (int64_t)std::llround(peaks->tbps * 1000);
    gpu["roofline_ns"] = (int64_t)std::llround(totalUs * 1000);
  } else {
    gpu["roofline_note"] = "no peaks known for " + options.gpuArch + " (sm_80 and sm_90 are)";
  }
  (*root)["gpu"] = std::move(gpu);
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(*root)));
  return out;
}
