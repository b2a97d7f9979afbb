//===- TensorIO.cpp - reading, generating and comparing host tensors -----===//
#include "TensorIO.h"
#include "kiln/Support/DataType.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <cstring>

using namespace kiln;

static llvm::Expected<HostTensor> readNpy(llvm::StringRef path,
                                          llvm::StringRef data) {
  auto bad = [&](const std::string &why) {
    return llvm::createStringError("'" + path.str() + "': " + why);
  };
  if (data.size() < 10 || !data.starts_with("\x93NUMPY"))
    return bad("not a .npy file");
  unsigned major = (unsigned char)data[6];
  size_t headerLen, offset;
  if (major == 1) {
    headerLen = (unsigned char)data[8] | ((unsigned char)data[9] << 8);
    offset = 10;
  } else {
    if (data.size() < 12)
      return bad("truncated header");
    headerLen = (unsigned char)data[8] | ((unsigned char)data[9] << 8) |
                ((unsigned char)data[10] << 16) | ((size_t)(unsigned char)data[11] << 24);
    offset = 12;
  }
  if (offset + headerLen > data.size())
    return bad("truncated header");
  llvm::StringRef header = data.substr(offset, headerLen);
  auto field = [&](llvm::StringRef key) -> llvm::StringRef {
    size_t k = header.find(("'" + key + "'").str());
    if (k == llvm::StringRef::npos)
      return "";
    llvm::StringRef rest = header.substr(k + key.size() + 2).ltrim(" :");
    return rest;
  };
  llvm::StringRef descr = field("descr");
  if (!descr.consume_front("'"))
    return bad("cannot read dtype");
  descr = descr.take_until([](char c) { return c == '\''; });
  static const std::pair<const char *, int32_t> types[] = {
      {"<f4", kFloat}, {"<f8", kDouble}, {"<f2", kFloat16}, {"<i8", kInt64},
      {"<i4", kInt32}, {"<i2", kInt16}, {"|i1", kInt8}, {"|u1", kUInt8},
      {"<u2", kUInt16}, {"<u4", kUInt32}, {"<u8", kUInt64}, {"|b1", kBool}};
  HostTensor t;
  for (auto [name, code] : types)
    if (descr == name)
      t.dtype = code;
  if (!t.dtype)
    return bad("unsupported dtype '" + descr.str() + "'");
  if (field("fortran_order").starts_with("True"))
    return bad("Fortran-order arrays are not supported");
  llvm::StringRef shape = field("shape");
  if (!shape.consume_front("("))
    return bad("cannot read shape");
  shape = shape.take_until([](char c) { return c == ')'; });
  llvm::SmallVector<llvm::StringRef> dims;
  shape.split(dims, ',', -1, /*KeepEmpty=*/false);
  int64_t numel = 1;
  for (llvm::StringRef d : dims) {
    int64_t v;
    if (d.trim().getAsInteger(10, v))
      return bad("cannot read shape");
    t.shape.push_back(v);
    numel *= v;
  }
  size_t bytes = numel * dataTypeBytes(t.dtype);
  size_t start = offset + headerLen;
  if (start + bytes > data.size())
    return bad("holds less data than its shape needs");
  t.bytes = data.substr(start, bytes).str();
  return t;
}

llvm::Expected<HostTensor> kiln::readTensor(llvm::StringRef path) {
  if (path.ends_with(".npy")) {
    auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
    if (!buf)
      return llvm::createStringError("cannot read '" + path.str() +
                                     "': " + buf.getError().message());
    return readNpy(path, (*buf)->getBuffer());
  }
  return readTensorFile(path);
}

static float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

double kiln::elementAsDouble(const HostTensor &t, int64_t i) {
  const char *p = t.bytes.data() + i * dataTypeBytes(t.dtype);
  auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof(v));
    return v;
  };
  switch (t.dtype) {
  case kFloat: return load(float());
  case kDouble: return load(double());
  case kFloat16: return halfToFloat(load(uint16_t()));
  case kBFloat16: {
    uint32_t bits = (uint32_t)load(uint16_t()) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  case kInt8: return load(int8_t());
  case kUInt8: return load(uint8_t());
  case kInt16: return load(int16_t());
  case kUInt16: return load(uint16_t());
  case kInt32: return load(int32_t());
  case kUInt32: return load(uint32_t());
  case kInt64: return (double)load(int64_t());
  case kUInt64: return (double)load(uint64_t());
  case kBool: return load(uint8_t()) != 0;
  default: return NAN;
  }
}

HostTensor kiln::randomTensor(const TensorSpec &spec, std::mt19937 &rng) {
  HostTensor t;
  t.name = spec.name;
  t.dtype = spec.dtype;
  t.shape = spec.shape;
  int64_t n = spec.numElements(), w = dataTypeBytes(spec.dtype);
  t.bytes.assign(n * w, 0);
  std::uniform_real_distribution<float> uf(-1.0f, 1.0f);
  std::uniform_int_distribution<int> ui(0, 3);
  for (int64_t i = 0; i < n; ++i) {
    char *p = t.bytes.data() + i * w;
    switch (spec.dtype) {
    case kFloat: { float v = uf(rng); std::memcpy(p, &v, 4); break; }
    case kDouble: { double v = uf(rng); std::memcpy(p, &v, 8); break; }
    case kFloat16: case kBFloat16: {
      // Values exactly representable in both 16-bit formats: k / 8.
      float v = (float)(ui(rng) * 2 - 3) / 8.0f;
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      uint16_t h;
      if (spec.dtype == kBFloat16) {
        h = bits >> 16;
      } else {
        uint32_t sign = (bits >> 16) & 0x8000, exp = (bits >> 23) & 0xff;
        uint32_t mant = (bits >> 13) & 0x3ff;
        h = exp == 0 ? sign : (uint16_t)(sign | ((exp - 127 + 15) << 10) | mant);
      }
      std::memcpy(p, &h, 2);
      break;
    }
    case kBool: *p = ui(rng) & 1; break;
    default: {
      int64_t v = ui(rng);
      std::memcpy(p, &v, w);
      break;
    }
    }
  }
  return t;
}

Comparison kiln::compareTensors(const HostTensor &actual,
                                const HostTensor &expected, double rtol,
                                double atol) {
  Comparison c;
  int64_t n = actual.bytes.size() / std::max<int64_t>(1, dataTypeBytes(actual.dtype));
  bool isFloat = actual.dtype == kFloat || actual.dtype == kDouble ||
                 actual.dtype == kFloat16 || actual.dtype == kBFloat16;
  for (int64_t i = 0; i < n; ++i) {
    double a = elementAsDouble(actual, i), e = elementAsDouble(expected, i);
    bool ok;
    if (std::isnan(a) || std::isnan(e)) {
      ok = std::isnan(a) && std::isnan(e);
    } else if (std::isinf(e) || std::isinf(a)) {
      ok = a == e;
    } else {
      double abs = std::fabs(a - e);
      c.maxAbsError = std::max(c.maxAbsError, abs);
      if (e != 0)
        c.maxRelError = std::max(c.maxRelError, abs / std::fabs(e));
      ok = isFloat ? abs <= atol + rtol * std::fabs(e) : a == e;
    }
    if (!ok) {
      if (c.firstMismatch < 0)
        c.firstMismatch = i;
      ++c.mismatches;
    }
  }
  return c;
}
