/*===- kiln_emulation_abi.h - GPU emulation thread context -----------------===*
 *
 * In GPU emulation mode a kernel is compiled for the host as a function of
 * one GPU thread, and reads what it knows about that thread (its ids, the
 * block and grid dimensions, its lane, the shared memory) from a context
 * that the runtime fills: KILN_EMU_SLOT_COUNT int64 slots. Both sides
 * include this header, so that the layout is written down once: the
 * compiler's GPU emulation pass loads the slots by these indices, and the
 * runtime (gpu_emulation.cpp) checks its ThreadContext against them.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_EMULATION_ABI_H
#define KILN_EMULATION_ABI_H

/* Indices of the int64 slots of the thread context. The x, y and z slots of
 * a dimension are consecutive, so that slot X + d is dimension d (0, 1, 2
 * as gpu::Dimension numbers them). */
enum kiln_emu_slot {
  KILN_EMU_SLOT_THREAD_ID_X = 0,
  KILN_EMU_SLOT_THREAD_ID_Y = 1,
  KILN_EMU_SLOT_THREAD_ID_Z = 2,
  KILN_EMU_SLOT_BLOCK_ID_X = 3,
  KILN_EMU_SLOT_BLOCK_ID_Y = 4,
  KILN_EMU_SLOT_BLOCK_ID_Z = 5,
  KILN_EMU_SLOT_BLOCK_DIM_X = 6,
  KILN_EMU_SLOT_BLOCK_DIM_Y = 7,
  KILN_EMU_SLOT_BLOCK_DIM_Z = 8,
  KILN_EMU_SLOT_GRID_DIM_X = 9,
  KILN_EMU_SLOT_GRID_DIM_Y = 10,
  KILN_EMU_SLOT_GRID_DIM_Z = 11,
  /* Byte offset of the kernel's static shared memory in the block's shared
   * buffer: the dynamic shared memory comes first, rounded up to 16 bytes. */
  KILN_EMU_SLOT_STATIC_SHARED_OFFSET = 12,
  /* The thread's lane in its warp of 32 (linear thread id % 32). */
  KILN_EMU_SLOT_LANE_ID = 13,
  /* The block's shared buffer (a pointer, 64-byte aligned; null when the
   * kernel uses no shared memory) and its size in bytes. */
  KILN_EMU_SLOT_SHARED_BASE = 14,
  KILN_EMU_SLOT_SHARED_BYTES = 15,
  KILN_EMU_SLOT_COUNT = 16
};

#endif /* KILN_EMULATION_ABI_H */
