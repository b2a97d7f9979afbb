//===- Passes.td - GPU emulation on the CPU ----------------*- tablegen -*-===//
#ifndef KILN_CODEGEN_EMULATION_PASSES_TD
#define KILN_CODEGEN_EMULATION_PASSES_TD

include "mlir/Pass/PassBase.td"

def GpuEmulation : Pass<"kiln-emu-threads", "mlir::ModuleOp"> {
  let summary = "Turn GPU kernels and their launches into CPU code run thread by thread";
  let description = [{
    For GPU emulation on the CPU. Every kernel of a `gpu.module` becomes a
    `func.func @kiln_emu_kernel_<module>_<kernel>(%ctx, %shared, args...)`
    that computes one GPU thread: thread, block, lane ids and dimensions
    are loaded from the thread context `%ctx` that the runtime fills in;
    `gpu.barrier` and `gpu.shuffle` call the runtime, which runs the
    threads of a block as fibers and synchronizes them; workgroup memory
    (attributions, `gpu.dynamic_shared_memory`, workgroup globals) are
    views into the block's shared buffer `%shared`; private attributions
    are allocas. Each `gpu.launch_func` becomes a call to
    `@kiln_emu_launch_<module>_<kernel>(static shared bytes, flags, grid,
    block, dynamic shared bytes, args...)`, a declaration that
    `kiln-emu-abi` defines after the lowering to LLVM.
    Ops the emulation does not know are an error naming the op.

    The launches and the kernels can be converted separately (options
    `launches`, `kernels`), so that host buffers are planned and
    deallocated while the kernels are still GPU functions.
  }];
  let options = [
    Option<"convertLaunches", "launches", "bool", /*default=*/"true",
           "rewrite gpu.launch_func into calls of the emulated launchers">,
    Option<"convertKernels", "kernels", "bool", /*default=*/"true",
           "turn the kernels into per-thread CPU functions and drop the gpu.modules">
  ];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect", "mlir::LLVM::LLVMDialect"];
}

def GpuEmulationABI : Pass<"kiln-emu-abi", "mlir::ModuleOp"> {
  let summary = "Define the launchers of emulated GPU kernels (LLVM dialect)";
  let description = [{
    Runs after the lowering to LLVM. Defines each declared
    `kiln_emu_launch_<name>`: it stores the kernel's arguments in 8-byte
    slots and calls the runtime's `kiln_emu_launch` with a thunk
    `kiln_emu_thunk_<name>(slots, ctx)` that reloads them and calls
    `kiln_emu_kernel_<name>` for one GPU thread, with the block's shared
    buffer taken from the thread context.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

#endif // KILN_CODEGEN_EMULATION_PASSES_TD
