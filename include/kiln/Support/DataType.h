//===- DataType.h - ONNX element type codes, shared by all of Kiln -*- C++ -*-===//
#ifndef KILN_SUPPORT_DATATYPE_H
#define KILN_SUPPORT_DATATYPE_H

#include "kiln_runtime.h"

#include <cstdint>

namespace kiln {

/// ONNX TensorProto.DataType codes that Kiln handles; the runtime's C API
/// (kiln_runtime.h) defines them.
enum DataType : int32_t {
  kFloat = KILN_FLOAT, kUInt8 = KILN_UINT8, kInt8 = KILN_INT8,
  kUInt16 = KILN_UINT16, kInt16 = KILN_INT16, kInt32 = KILN_INT32,
  kInt64 = KILN_INT64, kBool = KILN_BOOL, kFloat16 = KILN_FLOAT16,
  kDouble = KILN_DOUBLE, kUInt32 = KILN_UINT32, kUInt64 = KILN_UINT64,
  kBFloat16 = KILN_BFLOAT16,
};

/// Bytes per element of an ONNX data type (bool: one byte); 0 if Kiln does
/// not handle the type.
inline int64_t dataTypeBytes(int32_t dtype) {
  return (int64_t)kiln_dtype_bytes(dtype);
}

} // namespace kiln

#endif // KILN_SUPPORT_DATATYPE_H
