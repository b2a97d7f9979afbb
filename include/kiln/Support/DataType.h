//===- DataType.h - ONNX element type codes, shared by all of Kiln -*- C++ -*-===//
#ifndef KILN_SUPPORT_DATATYPE_H
#define KILN_SUPPORT_DATATYPE_H

#include <cstdint>

namespace kiln {

/// ONNX TensorProto.DataType codes that Kiln handles.
enum DataType : int32_t {
  kFloat = 1, kUInt8 = 2, kInt8 = 3, kUInt16 = 4, kInt16 = 5, kInt32 = 6,
  kInt64 = 7, kBool = 9, kFloat16 = 10, kDouble = 11, kUInt32 = 12,
  kUInt64 = 13, kBFloat16 = 16,
};

/// Bytes per element of an ONNX data type (bool: one byte); 0 if Kiln does
/// not handle the type.
inline int64_t dataTypeBytes(int32_t dtype) {
  switch (dtype) {
  case kFloat: case kInt32: case kUInt32: return 4;
  case kDouble: case kInt64: case kUInt64: return 8;
  case kFloat16: case kBFloat16: case kInt16: case kUInt16: return 2;
  case kBool: case kInt8: case kUInt8: return 1;
  default: return 0;
  }
}

} // namespace kiln

#endif // KILN_SUPPORT_DATATYPE_H
