//===- OnnxImporter.cpp - ONNX model to kiln dialect ---------------------===//
//
// Reads a model (binary or text), pins user-given input shapes, runs the
// ONNX checker and shape inference, then converts the graph node by node.
// libonnx reports bad models with C++ exceptions; they are caught here and
// turned into diagnostics, so this file is built with -fexceptions.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"
#include "kiln/Import/OnnxImporter.h"
#include "kiln/Support/DataType.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <onnx/checker.h>
#include <onnx/defs/parser.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <cstring>
#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::detail;

namespace {
/// Oldest and newest default-domain opsets the importer understands. Each
/// op is read in the version the model's opset means (checkOpVersions);
/// libonnx's version converter is not used: it rejects valid legacy
/// broadcasts (onnx 1.12 to 1.23), which the importer reads itself.
constexpr int64_t kMinOpset = 1;
constexpr int64_t kMaxOpset = 28;
/// IR versions (the file format) Kiln reads.
constexpr int64_t kMinIrVersion = 3;
constexpr int64_t kMaxIrVersion = 11;
/// What libonnx 1.12 (Debian's) knows: its checker refuses newer IR
/// versions and its shape inference has no schemas of newer opsets, so
/// models past either are validated by Kiln's importer alone.
constexpr int64_t kLibOnnxMaxIrVersion = 8;
constexpr int64_t kLibOnnxMaxOpset = 17;

/// Each default-domain op and the opsets in which it changed
/// (lib/Import/OnnxOpVersions.inc, generated from the onnx package).
struct OnnxOpVersions {
  const char *op;
  std::initializer_list<int> versions;
};
#define KILN_ONNX_OP(name, ...) {name, __VA_ARGS__},
const OnnxOpVersions kOnnxOpVersions[] = {
#include "OnnxOpVersions.inc"
};
#undef KILN_ONNX_OP

/// The version of `op` that a model of `opset` means (the newest version
/// not after it); 0 if the op did not exist yet, -1 if ONNX has no such op.
int64_t onnxOpVersion(StringRef op, int64_t opset) {
  for (const OnnxOpVersions &entry : kOnnxOpVersions) {
    if (op != entry.op)
      continue;
    int64_t since = 0;
    for (int v : entry.versions)
      if (v <= opset)
        since = v;
    return since;
  }
  return -1;
}
/// Float initializers with more elements than this become dense_resource
/// blobs; smaller ones (and all integer ones up to kMaxDenseInts) stay as
/// readable dense literals that folding can see.
constexpr int64_t kMaxDenseFloats = 16;
constexpr int64_t kMaxDenseInts = 4096;
} // namespace

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

Type kiln::detail::convertElementType(MLIRContext *ctx, int32_t t) {
  using TP = onnx::TensorProto;
  switch (t) {
  case TP::FLOAT: return Float32Type::get(ctx);
  case TP::DOUBLE: return Float64Type::get(ctx);
  case TP::FLOAT16: return Float16Type::get(ctx);
  case TP::BFLOAT16: return BFloat16Type::get(ctx);
  case TP::BOOL: return IntegerType::get(ctx, 1);
  case TP::INT8: return IntegerType::get(ctx, 8);
  case TP::INT16: return IntegerType::get(ctx, 16);
  case TP::INT32: return IntegerType::get(ctx, 32);
  case TP::INT64: return IntegerType::get(ctx, 64);
  case TP::UINT8: return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case TP::UINT16: return IntegerType::get(ctx, 16, IntegerType::Unsigned);
  case TP::UINT32: return IntegerType::get(ctx, 32, IntegerType::Unsigned);
  case TP::UINT64: return IntegerType::get(ctx, 64, IntegerType::Unsigned);
  default: return nullptr;
  }
}

StringRef kiln::detail::onnxTypeName(int32_t t) {
  if (onnx::TensorProto_DataType_IsValid(t))
    return onnx::TensorProto_DataType_Name(
        static_cast<onnx::TensorProto_DataType>(t));
  // Types newer than libonnx 1.12's protobuf (ONNX 1.14 to 1.23).
  static const char *newer[] = {"FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2",
                                "FLOAT8E5M2FNUZ", "UINT4", "INT4", "FLOAT4E2M1",
                                "FLOAT8E8M0", "UINT2", "INT2", "FLOAT6E2M3", "FLOAT6E3M2"};
  if (t >= 17 && t < 17 + (int32_t)std::size(newer))
    return newer[t - 17];
  return "unknown";
}

static int64_t byteWidth(Type et) {
  if (et.isInteger(1))
    return 1;
  return (et.getIntOrFloatBitWidth() + 7) / 8;
}

//===----------------------------------------------------------------------===//
// Graph importer
//===----------------------------------------------------------------------===//

namespace kiln::detail {
class ExternalFiles;
class GraphImporter {
public:
  GraphImporter(MLIRContext *ctx, const onnx::ModelProto &model,
                const ImportOptions &options, int64_t opset)
      : ctx(ctx), builder(ctx), model(model), options(options), opset(opset) {}

  OwningOpRef<ModuleOp> run();
  /// Imports `nodes` in order into the current insertion point (the main
  /// graph's, or a control-flow subgraph's inlined in place).
  LogicalResult importNodes(const google::protobuf::RepeatedPtrField<onnx::NodeProto> &nodes);

  MLIRContext *ctx;
  OpBuilder builder;
  const onnx::ModelProto &model;
  const ImportOptions &options;
  int64_t opset;
  llvm::StringMap<Value> values;
  llvm::StringSet<> usedNames;
  llvm::StringMap<const onnx::TypeProto *> inferredTypes;
  llvm::StringSet<> resourceNames;
  /// Run-time index checks (NodeContext::checkIndices): a [2k] i64 value,
  /// the minimum then the maximum of each of the k components of an index
  /// input, what it checks, and the size of the dim each component
  /// addresses. Each becomes an extra result of main.
  struct IndexCheck {
    Value indices, minMax;
    std::string what;
    SmallVector<int64_t> dims;
  };
  SmallVector<IndexCheck> indexChecks;
  /// How deeply control-flow subgraphs are nested where import is.
  int subgraphDepth = 0;
  /// Constants stored as INT4/UINT4, read as int8/uint8 values.
  llvm::StringSet<> fourBitValues;

  Location modelLoc() {
    return FileLineColLoc::get(ctx, options.modelName, 0, 0);
  }
  Location nodeLoc(const onnx::NodeProto &node, int index);

  /// After run(), once libonnx's shape inference has filled the model's
  /// value_info: every node's results have the shapes it inferred.
  LogicalResult checkInferredShapes() {
    inferredTypes.clear();
    for (const auto &vi : model.graph().value_info())
      inferredTypes[vi.name()] = &vi.type();
    for (const auto &vi : model.graph().output())
      inferredTypes[vi.name()] = &vi.type();
    for (auto [index, node] : llvm::enumerate(model.graph().node())) {
      NodeContext nc(*this, node, nodeLoc(node, index), opset);
      if (failed(checkAgainstInference(node, nc)))
        return failure();
    }
    return success();
  }

  /// Converts a TensorProto (initializer or Constant attribute) to an
  /// elements attribute; `what` names it in errors.
  FailureOr<ElementsAttr> convertTensor(const onnx::TensorProto &t,
                                        StringRef what, Location loc,
                                        bool allowResource);
  /// A resource name for the weight `what`.
  static std::string resourceName(StringRef what);
  /// The model's external data, mapped (null for a model without).
  ExternalFiles *external = nullptr;
  FailureOr<RankedTensorType> convertValueType(const onnx::ValueInfoProto &vi,
                                               Location loc, StringRef role);
  LogicalResult checkAgainstInference(const onnx::NodeProto &node,
                                      NodeContext &nc);
};
} // namespace kiln::detail

/// Calls fn(node, index) on every node of `graph` and, depth first, of the
/// subgraphs in its nodes' attributes (If's branches, Loop's and Scan's
/// bodies).
static void forEachNode(const onnx::GraphProto &graph,
                        llvm::function_ref<void(const onnx::NodeProto &, int)> fn,
                        int depth = 0) {
  if (depth > 64)
    return;
  for (auto [index, node] : llvm::enumerate(graph.node())) {
    fn(node, index);
    for (const auto &a : node.attribute()) {
      if (a.has_g())
        forEachNode(a.g(), fn, depth + 1);
      for (const auto &g : a.graphs())
        forEachNode(g, fn, depth + 1);
    }
  }
}

/// The name diagnostics use for a node: its own, or "OpType#index".
static std::string nodeDisplayName(const onnx::NodeProto &node, int index) {
  if (!node.name().empty())
    return node.name();
  return node.op_type() + "#" + std::to_string(index);
}

Location GraphImporter::nodeLoc(const onnx::NodeProto &node, int index) {
  return NameLoc::get(StringAttr::get(ctx, nodeDisplayName(node, index)),
                      modelLoc());
}

/// The external data files of one model, each mapped once: tensors read
/// from them point into the mapping (no copy), which lives as long as a
/// tensor does.
class kiln::detail::ExternalFiles {
public:
  explicit ExternalFiles(const ImportOptions &options) : options(options) {}

  struct Data {
    ArrayRef<char> bytes;
    std::shared_ptr<llvm::MemoryBuffer> file; // holds `bytes`
  };
  /// The external data of `t`, from a file inside the model's folder.
  FailureOr<Data> read(const onnx::TensorProto &t, StringRef what, Location loc);

  /// Initializers over kInlineBytes keep their data in the file: the proto
  /// holds a stand-in that the checker accepts, and the importer reads the
  /// bytes from here.
  static constexpr int64_t kInlineBytes = int64_t(1) << 20;
  llvm::DenseMap<const onnx::TensorProto *, Data> mapped;
  const Data *find(const onnx::TensorProto *t) const {
    auto it = mapped.find(t);
    return it == mapped.end() ? nullptr : &it->second;
  }

private:
  const ImportOptions &options;
  llvm::StringMap<std::shared_ptr<llvm::MemoryBuffer>> files; // by real path
};

FailureOr<ExternalFiles::Data> ExternalFiles::read(const onnx::TensorProto &t, StringRef what,
                                                   Location loc) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : t.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset")
      offset = std::atoll(kv.value().c_str());
    else if (kv.key() == "length")
      length = std::atoll(kv.value().c_str());
  }
  if (options.modelDir.empty())
    return emitError(loc) << "tensor '" << what
                          << "' uses external data, which needs the model to "
                             "be loaded from a file";
  if (location.empty())
    return emitError(loc) << "tensor '" << what
                          << "' has external data without a location";
  SmallString<256> dirReal, fileReal;
  SmallString<256> joined(options.modelDir);
  llvm::sys::path::append(joined, location);
  if (llvm::sys::path::is_absolute(location) ||
      llvm::sys::fs::real_path(options.modelDir, dirReal) ||
      llvm::sys::fs::real_path(joined, fileReal))
    return emitError(loc) << "tensor '" << what << "': external data file '"
                          << location << "' not found next to the model";
  StringRef dir = dirReal.str();
  if (!StringRef(fileReal).starts_with(dir) || fileReal.size() <= dir.size() ||
      !llvm::sys::path::is_separator(fileReal[dir.size()]))
    return emitError(loc) << "tensor '" << what << "': external data path '"
                          << location << "' escapes the model's folder";
  std::shared_ptr<llvm::MemoryBuffer> &file = files[fileReal];
  if (!file) {
    // Mapped, not read: a model's weights are not copied into memory.
    auto buf = llvm::MemoryBuffer::getFile(fileReal, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
    if (!buf)
      return emitError(loc) << "tensor '" << what << "': cannot read '"
                            << location << "': " << buf.getError().message();
    file = std::move(*buf);
  }
  StringRef data = file->getBuffer();
  if (offset < 0 || (size_t)offset > data.size() ||
      (length >= 0 && (size_t)length > data.size() - (size_t)offset))
    return emitError(loc) << "tensor '" << what << "': offset/length exceed '"
                          << location << "' (" << data.size() << " bytes)";
  StringRef part = data.substr(offset, length < 0 ? StringRef::npos : length);
  return Data{ArrayRef<char>(part.data(), part.size()), file};
}

/// Extracts the dense little-endian bytes of an embedded tensor; returns an
/// error message if the data does not match the shape.
static std::optional<std::string> decodeTensorBytes(const onnx::TensorProto &t,
                                                    int64_t numel, int64_t width,
                                                    std::string &bytes) {
  using TP = onnx::TensorProto;
  if (t.has_raw_data()) {
    bytes = t.raw_data();
  } else {
    std::optional<std::string> err;
    auto fill = [&](auto const &field, auto convert) {
      // Checked before allocating: a corrupt shape must not allocate.
      if (field.size() != numel) {
        err = "holds " + std::to_string(field.size()) + " values, its shape needs " +
              std::to_string(numel);
        return;
      }
      bytes.assign(numel * width, 0);
      char *out = bytes.data();
      for (int64_t i = 0; i < numel; ++i)
        convert(field.Get(i), out + i * width);
    };
    switch (t.data_type()) {
    case TP::FLOAT:
      fill(t.float_data(), [](float v, char *p) { std::memcpy(p, &v, 4); });
      break;
    case TP::DOUBLE:
      fill(t.double_data(), [](double v, char *p) { std::memcpy(p, &v, 8); });
      break;
    case TP::INT64:
      fill(t.int64_data(), [](int64_t v, char *p) { std::memcpy(p, &v, 8); });
      break;
    case TP::UINT32:
    case TP::UINT64:
      fill(t.uint64_data(), [width](uint64_t v, char *p) { std::memcpy(p, &v, width); });
      break;
    default: // int32_data carries all narrower types, bit patterns for 16-bit floats.
      fill(t.int32_data(), [width](int32_t v, char *p) { std::memcpy(p, &v, width); });
      break;
    }
    if (err)
      return err;
  }
  if ((int64_t)bytes.size() != numel * width)
    return "has " + std::to_string(bytes.size()) + " bytes of data, its shape needs " +
           std::to_string(numel * width);
  return std::nullopt;
}

FailureOr<ElementsAttr> GraphImporter::convertTensor(const onnx::TensorProto &t,
                                                     StringRef what,
                                                     Location loc,
                                                     bool allowResource) {
  using TP = onnx::TensorProto;
  // 4-bit integers (INT4 = 22, UINT4 = 21: packed two to a byte, low
  // nibble first) are constants only: read as int8/uint8 of equal value.
  bool fourBit = t.data_type() == 21 || t.data_type() == 22;
  Type et = fourBit ? IntegerType::get(ctx, 8, t.data_type() == 22 ? IntegerType::Signless
                                                                  : IntegerType::Unsigned)
                    : convertElementType(ctx, t.data_type());
  if (!et)
    return emitError(loc) << "tensor '" << what << "' has unsupported element type "
                          << onnxTypeName(t.data_type());
  SmallVector<int64_t> shape;
  int64_t numel = 1;
  for (int64_t d : t.dims()) {
    if (d < 0)
      return emitError(loc) << "tensor '" << what << "' has negative dimension "
                            << d;
    if (d > 0 && numel > (int64_t(1) << 40) / d)
      return emitError(loc) << "tensor '" << what << "' is too large";
    shape.push_back(d);
    numel *= d;
  }
  auto type = RankedTensorType::get(shape, et);
  int64_t width = byteWidth(et);
  const ExternalFiles::Data *mapped = external ? external->find(&t) : nullptr;
  if (mapped && !fourBit) {
    ArrayRef<char> data = mapped->bytes;
    if ((int64_t)data.size() != numel * width)
      return emitError(loc) << "tensor '" << what << "' has " << data.size()
                            << " bytes of external data, its shape needs " << numel * width
                            << " (type " << type << ")";
    // Aligned data stays in the mapping; the blob keeps the file mapped.
    if (allowResource && !et.isInteger(1) && width > 0 &&
        (uintptr_t)data.data() % width == 0) {
      std::shared_ptr<llvm::MemoryBuffer> file = mapped->file;
      AsmResourceBlob blob(
          data, std::min<size_t>(width, alignof(std::max_align_t)),
          [file](void *, size_t, size_t) mutable { file.reset(); },
          /*dataIsMutable=*/false);
      return cast<ElementsAttr>(
          DenseResourceElementsAttr::get(type, resourceName(what), std::move(blob)));
    }
  } else if (!mapped && t.data_location() == TP::EXTERNAL) {
    return emitError(loc) << "tensor '" << what
                          << "' uses external data, which is only supported "
                             "for initializers";
  }
  std::string bytes;
  if (fourBit) {
    std::string packed;
    if (mapped) {
      packed.assign(mapped->bytes.data(), mapped->bytes.size());
    } else if (t.has_raw_data()) {
      packed = t.raw_data();
    } else {
      for (int32_t v : t.int32_data())
        packed.push_back((char)(v & 0xff));
    }
    if ((int64_t)packed.size() != (numel + 1) / 2)
      return emitError(loc) << "tensor '" << what << "' has " << packed.size()
                            << " bytes of 4-bit data, its shape needs " << (numel + 1) / 2;
    bytes.resize(numel);
    bool isSigned = t.data_type() == 22;
    for (int64_t i = 0; i < numel; ++i) {
      int v = ((unsigned char)packed[i / 2] >> (4 * (i % 2))) & 0xf;
      if (isSigned && v >= 8)
        v -= 16;
      bytes[i] = (char)v;
    }
    fourBitValues.insert(what);
  } else if (mapped) {
    // Unaligned, or booleans: copied out of the mapping.
    bytes.assign(mapped->bytes.data(), mapped->bytes.size());
  } else if (auto err = decodeTensorBytes(t, numel, width, bytes)) {
    return emitError(loc) << "tensor '" << what << "' " << *err
                          << " (type " << type << ")";
  }
  if (et.isInteger(1)) {
    SmallVector<bool> bits;
    for (char c : bytes)
      bits.push_back(c != 0);
    return cast<ElementsAttr>(DenseElementsAttr::get(type, ArrayRef<bool>(bits)));
  }
  bool small = isa<FloatType>(et) ? numel <= kMaxDenseFloats : numel <= kMaxDenseInts;
  if (!allowResource || small) {
    ArrayRef<char> raw(bytes.data(), bytes.size());
    if (numel == 0)
      return cast<ElementsAttr>(DenseElementsAttr::get(type, ArrayRef<Attribute>{}));
    return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(type, raw));
  }
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      ArrayRef<char>(bytes.data(), bytes.size()), alignof(std::max_align_t));
  return cast<ElementsAttr>(
      DenseResourceElementsAttr::get(type, resourceName(what), std::move(blob)));
}

std::string GraphImporter::resourceName(StringRef what) {
  std::string blobName;
  for (char c : what)
    blobName += (llvm::isAlnum(c) || c == '_' || c == '.') ? c : '_';
  if (blobName.empty() || llvm::isDigit(blobName[0]))
    blobName = "w_" + blobName;
  return blobName;
}

FailureOr<RankedTensorType>
GraphImporter::convertValueType(const onnx::ValueInfoProto &vi, Location loc,
                                StringRef role) {
  if (!vi.type().has_tensor_type())
    return emitError(loc) << role << " '" << vi.name()
                          << "' is not a tensor (sequences, maps and optionals "
                             "are not supported)";
  const auto &tt = vi.type().tensor_type();
  Type et = convertElementType(ctx, tt.elem_type());
  if (!et)
    return emitError(loc) << role << " '" << vi.name()
                          << "' has unsupported element type "
                          << onnxTypeName(tt.elem_type());
  auto pinned = options.inputShapes.find(vi.name());
  if (pinned != options.inputShapes.end())
    return RankedTensorType::get(pinned->second, et);
  if (!tt.has_shape())
    return emitError(loc) << role << " '" << vi.name()
                          << "' has no shape; pin it with --input-shape "
                          << vi.name() << "=D0xD1x...";
  SmallVector<int64_t> dims;
  for (auto [i, d] : llvm::enumerate(tt.shape().dim())) {
    if (!d.has_dim_value() || d.dim_value() < 0)
      return emitError(loc)
             << role << " '" << vi.name() << "' has unknown dimension "
             << (d.has_dim_param() ? "'" + d.dim_param() + "'" : std::string("?"))
             << " at index " << i << "; pin it with --input-shape " << vi.name()
             << "=D0xD1x...";
    dims.push_back(d.dim_value());
  }
  return RankedTensorType::get(dims, et);
}

LogicalResult GraphImporter::checkAgainstInference(const onnx::NodeProto &node,
                                                   NodeContext &nc) {
  // ONNX 1.12's pooling shape inference keeps a ceil_mode window that starts
  // in the end padding; Kiln drops it like PyTorch and ONNX Runtime do.
  bool ceilPool = (node.op_type() == "MaxPool" || node.op_type() == "AveragePool") &&
                  nc.attrInt("ceil_mode", 0) != 0;
  for (int i = 0; i < node.output_size(); ++i) {
    const std::string &name = node.output(i);
    if (name.empty())
      continue;
    auto it = values.find(name);
    if (it == values.end()) {
      if (usedNames.contains(name))
        return nc.error() << "output " << i << " ('" << name
                          << "') is used but this op form does not produce it";
      continue;
    }
    auto inf = inferredTypes.find(name);
    if (inf == inferredTypes.end() || !inf->second->has_tensor_type())
      continue;
    const auto &tt = inf->second->tensor_type();
    if (!tt.has_shape())
      continue;
    SmallVector<int64_t> dims;
    bool staticShape = true;
    for (const auto &d : tt.shape().dim()) {
      staticShape &= d.has_dim_value();
      dims.push_back(d.dim_value());
    }
    auto actual = cast<RankedTensorType>(it->second.getType());
    if (staticShape && !ceilPool && ArrayRef<int64_t>(dims) != actual.getShape())
      return nc.error() << "output '" << name << "' has shape "
                        << shapeToString(actual.getShape())
                        << " but ONNX shape inference says "
                        << shapeToString(dims);
  }
  return success();
}

/// Whether the graph has an op whose shape inference in libonnx 1.12 gives
/// wrong shapes (STFT counts one frame too many when the frame length comes
/// from the window), which would also spread to every later shape: such
/// models are checked by the importer's own shape rules alone.
static bool hasMisinferredOp(const onnx::ModelProto &model) {
  for (const auto &node : model.graph().node())
    if ((node.domain().empty() || node.domain() == "ai.onnx") && node.op_type() == "STFT")
      return true;
  return false;
}

/// libonnx's schema of `op` at `opset`, or at the newest version libonnx
/// knows for a newer opset (input counts rarely change between versions);
/// null for ops libonnx does not know.
static const onnx::OpSchema *latestKnownSchema(StringRef op, int64_t opset) {
  return onnx::OpSchemaRegistry::Schema(op.str(), (int)std::min(opset, kLibOnnxMaxOpset), "");
}

/// The node has at least the inputs and outputs its op requires, and none of
/// its required inputs is left empty. libonnx's checker tests this up to
/// its newest opset; for newer models this is the check.
static LogicalResult checkArity(NodeContext &nc) {
  const onnx::NodeProto &node = nc.node;
  const onnx::OpSchema *schema = latestKnownSchema(node.op_type(), nc.opset);
  if (!schema)
    return success();
  if (node.input_size() < schema->min_input())
    return nc.error() << "takes at least " << schema->min_input() << " input"
                      << (schema->min_input() == 1 ? "" : "s") << ", the node has "
                      << node.input_size();
  if (node.output_size() < schema->min_output())
    return nc.error() << "has at least " << schema->min_output() << " output"
                      << (schema->min_output() == 1 ? "" : "s") << ", the node has "
                      << node.output_size();
  const auto &formal = schema->inputs();
  for (int i = 0; i < node.input_size() && i < (int)formal.size(); ++i)
    if (formal[i].GetOption() == onnx::OpSchema::Single && node.input(i).empty())
      return nc.error() << "required input " << i << " ('" << formal[i].GetName()
                        << "') is empty";
  return success();
}

/// An input the importer never looked at, beyond what the op's schema
/// takes, would be silently ignored: an error instead.
static LogicalResult checkIgnoredInputs(NodeContext &nc) {
  const onnx::NodeProto &node = nc.node;
  const onnx::OpSchema *schema = latestKnownSchema(node.op_type(), nc.opset);
  for (int i = nc.highestInputRead + 1; i < node.input_size(); ++i) {
    if (node.input(i).empty() || (schema && i < schema->max_input()))
      continue;
    return nc.error() << "input " << i << " ('" << node.input(i)
                      << "') is not an input of this op (the node has "
                      << node.input_size() << " inputs)";
  }
  return success();
}

LogicalResult
GraphImporter::importNodes(const google::protobuf::RepeatedPtrField<onnx::NodeProto> &nodes) {
  const auto &importers = getOpImporters();
  for (auto [index, node] : llvm::enumerate(nodes)) {
    Location loc = nodeLoc(node, index);
    NodeContext nc(*this, node, loc, opset);
    for (int i = 0; i < node.input_size(); ++i)
      if (!node.input(i).empty() && !values.count(node.input(i)))
        return nc.error() << "input " << i << " ('" << node.input(i)
                          << "') is not produced by any earlier node, graph input "
                             "or initializer";
    // (The main graph's ops are checked before import; a subgraph's are
    // checked here too.)
    auto importer = importers.find(node.op_type());
    if (importer == importers.end() || !(node.domain().empty() || node.domain() == "ai.onnx"))
      return emitError(loc) << "unsupported ONNX op '" << node.op_type() << "'";
    if (failed(checkArity(nc)) || failed(importer->second(nc)))
      return failure();
    if (!nc.wrongAttribute.empty())
      return nc.error() << nc.wrongAttribute;
    if (failed(checkIgnoredInputs(nc)) || failed(checkAgainstInference(node, nc)))
      return failure();
  }
  return success();
}

bool kiln::detail::isFourBitConstant(NodeContext &nc, int i) {
  return nc.hasInput(i) && nc.graph.fourBitValues.contains(nc.node.input(i));
}

FailureOr<SmallVector<Value>> kiln::detail::importSubgraph(NodeContext &nc,
                                                          const onnx::GraphProto &g,
                                                          ArrayRef<Value> inputs) {
  GraphImporter &gi = nc.graph;
  if (g.input_size() != (int)inputs.size())
    return nc.error() << "its subgraph '" << g.name() << "' takes " << g.input_size()
                      << " inputs, " << inputs.size() << " are given";
  constexpr int kMaxDepth = 16;
  if (gi.subgraphDepth >= kMaxDepth)
    return nc.error() << "control-flow subgraphs are nested more than " << kMaxDepth
                      << " deep";
  ++gi.subgraphDepth;
  llvm::scope_exit leave([&] { --gi.subgraphDepth; });
  for (auto [i, vi] : llvm::enumerate(g.input()))
    gi.values[vi.name()] = inputs[i];
  for (const auto &init : g.initializer()) {
    auto attr = gi.convertTensor(init, init.name(), nc.loc, /*allowResource=*/true);
    if (failed(attr))
      return failure();
    gi.values[init.name()] = ConstantOp::create(gi.builder, nc.loc, *attr);
  }
  if (failed(gi.importNodes(g.node())))
    return failure();
  SmallVector<Value> outs;
  for (const auto &out : g.output()) {
    Value v = gi.values.lookup(out.name());
    if (!v)
      return nc.error() << "subgraph output '" << out.name()
                        << "' is not produced by any of its nodes, inputs or initializers";
    outs.push_back(v);
  }
  return outs;
}

OwningOpRef<ModuleOp> GraphImporter::run() {
  const onnx::GraphProto &graph = model.graph();
  if (graph.node_size() == 0 && graph.output_size() == 0) {
    emitError(modelLoc()) << "the model's graph is empty";
    return nullptr;
  }
  if (graph.output_size() == 0) {
    emitError(modelLoc()) << "the model's graph has no outputs";
    return nullptr;
  }
  for (const auto &vi : graph.value_info())
    inferredTypes[vi.name()] = &vi.type();
  for (const auto &vi : graph.output())
    inferredTypes[vi.name()] = &vi.type();
  forEachNode(graph, [&](const onnx::NodeProto &node, int) {
    for (const auto &in : node.input())
      usedNames.insert(in);
    for (const auto &a : node.attribute()) {
      auto outputs = [&](const onnx::GraphProto &g) {
        for (const auto &out : g.output())
          usedNames.insert(out.name());
      };
      if (a.has_g())
        outputs(a.g());
      for (const auto &g : a.graphs())
        outputs(g);
    }
  });
  for (const auto &out : graph.output())
    usedNames.insert(out.name());

  OwningOpRef<ModuleOp> module = ModuleOp::create(modelLoc());
  if (!graph.name().empty())
    (*module)->setAttr("kiln.graph_name", StringAttr::get(ctx, graph.name()));
  (*module)->setAttr("kiln.onnx_nodes",
                     IntegerAttr::get(IntegerType::get(ctx, 64), graph.node_size()));

  // Initializers are constants; graph inputs that share their name (old IR
  // versions list them as inputs too) are not function arguments.
  llvm::StringMap<const onnx::TensorProto *> initializers;
  for (const auto &init : graph.initializer())
    initializers[init.name()] = &init;

  SmallVector<Type> argTypes;
  SmallVector<const onnx::ValueInfoProto *> args;
  for (const auto &vi : graph.input()) {
    if (initializers.count(vi.name()))
      continue;
    auto type = convertValueType(vi, modelLoc(), "input");
    if (failed(type))
      return nullptr;
    argTypes.push_back(*type);
    args.push_back(&vi);
  }
  for (const auto &entry : options.inputShapes)
    if (!llvm::any_of(args, [&](auto *vi) { return vi->name() == entry.getKey(); })) {
      emitError(modelLoc()) << "--input-shape names '" << entry.getKey()
                            << "', which is not an input of the model";
      return nullptr;
    }

  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder, modelLoc(), "main",
                                   builder.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  for (auto [i, vi] : llvm::enumerate(args)) {
    func.setArgAttr(i, "kiln.name", StringAttr::get(ctx, vi->name()));
    values[vi->name()] = entry->getArgument(i);
  }
  builder.setInsertionPointToEnd(entry);

  for (const auto &init : graph.initializer()) {
    auto attr = convertTensor(init, init.name(), modelLoc(), /*allowResource=*/true);
    if (failed(attr))
      return nullptr;
    values[init.name()] = ConstantOp::create(builder, modelLoc(), *attr);
  }

  if (failed(importNodes(graph.node())))
    return nullptr;

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (const auto &out : graph.output()) {
    Value v = values.lookup(out.name());
    if (!v) {
      emitError(modelLoc()) << "graph output '" << out.name()
                            << "' is not produced by any node, input or "
                               "initializer";
      return nullptr;
    }
    results.push_back(v);
    resultTypes.push_back(v.getType());
  }
  for (const IndexCheck &check : indexChecks) {
    results.push_back(check.minMax);
    resultTypes.push_back(check.minMax.getType());
  }
  func::ReturnOp::create(builder, modelLoc(), results);
  func.setFunctionType(builder.getFunctionType(argTypes, resultTypes));
  for (auto [i, out] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "kiln.name", StringAttr::get(ctx, out.name()));
  for (auto [j, check] : llvm::enumerate(indexChecks)) {
    unsigned i = graph.output_size() + j;
    func.setResultAttr(i, "kiln.name", StringAttr::get(ctx, "kiln.check." + std::to_string(j)));
    func.setResultAttr(i, "kiln.check", StringAttr::get(ctx, check.what));
    func.setResultAttr(i, "kiln.check_dims", DenseI64ArrayAttr::get(ctx, check.dims));
  }
  if (failed(mlir::verify(*module)))
    return nullptr;
  return module;
}

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

OpBuilder &NodeContext::builder() { return graph.builder; }
MLIRContext *NodeContext::ctx() { return graph.ctx; }

InFlightDiagnostic NodeContext::error() {
  return emitError(loc) << node.op_type() << ": ";
}

bool NodeContext::hasInput(int i) const {
  highestInputRead = std::max(highestInputRead, i);
  return i < node.input_size() && !node.input(i).empty();
}

Value NodeContext::input(int i) {
  return hasInput(i) ? graph.values.lookup(node.input(i)) : Value();
}

FailureOr<Value> NodeContext::requiredInput(int i) {
  if (!hasInput(i))
    return error() << "required input " << i << " is missing";
  return input(i);
}

DenseElementsAttr NodeContext::constInput(int i) {
  Value v = input(i);
  if (!v)
    return nullptr;
  if (auto c = v.getDefiningOp<ConstantOp>())
    return dyn_cast<DenseElementsAttr>(c.getValue());
  return nullptr;
}

FailureOr<SmallVector<int64_t>> NodeContext::constInts(int i, StringRef what) {
  DenseElementsAttr attr = constInput(i);
  if (!attr || !isa<IntegerType>(attr.getElementType()))
    return error() << what << " (input " << i
                   << ") must be a compile-time constant integer tensor; "
                      "Kiln compiles static shapes only";
  SmallVector<int64_t> out;
  for (APInt v : attr.getValues<APInt>())
    out.push_back(v.getSExtValue());
  return out;
}

FailureOr<SmallVector<double>> NodeContext::constFloats(int i, StringRef what) {
  DenseElementsAttr attr = constInput(i);
  if (!attr)
    return error() << what << " (input " << i
                   << ") must be a compile-time constant";
  SmallVector<double> out;
  if (isa<FloatType>(attr.getElementType())) {
    for (APFloat v : attr.getValues<APFloat>()) {
      bool lost;
      v.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      out.push_back(v.convertToDouble());
    }
  } else {
    for (APInt v : attr.getValues<APInt>())
      out.push_back((double)v.getSExtValue());
  }
  return out;
}

bool NodeContext::outputUsed(int i) const {
  return i < node.output_size() && !node.output(i).empty() &&
         graph.usedNames.contains(node.output(i));
}

void NodeContext::setOutput(int i, Value v) {
  if (i < node.output_size() && !node.output(i).empty())
    graph.values[node.output(i)] = v;
}

const onnx::AttributeProto *NodeContext::attr(StringRef name) const {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

/// Whether attribute `a` holds a value of `type` (an attribute without a
/// type, as very old exporters write, is taken as holding it).
static bool holds(const onnx::AttributeProto &a, onnx::AttributeProto::AttributeType type) {
  return a.type() == type || a.type() == onnx::AttributeProto::UNDEFINED;
}

static const char *attributeTypeName(onnx::AttributeProto::AttributeType t) {
  switch (t) {
  case onnx::AttributeProto::FLOAT: return "a float";
  case onnx::AttributeProto::INT: return "an int";
  case onnx::AttributeProto::STRING: return "a string";
  case onnx::AttributeProto::TENSOR: return "a tensor";
  case onnx::AttributeProto::GRAPH: return "a graph";
  case onnx::AttributeProto::FLOATS: return "a list of floats";
  case onnx::AttributeProto::INTS: return "a list of ints";
  case onnx::AttributeProto::STRINGS: return "a list of strings";
  default: return "another type";
  }
}

const onnx::AttributeProto *
NodeContext::typedAttr(StringRef name, onnx::AttributeProto::AttributeType type) const {
  const auto *a = attr(name);
  if (a && !holds(*a, type)) {
    if (wrongAttribute.empty())
      wrongAttribute = "attribute '" + name.str() + "' must be " + attributeTypeName(type) +
                       ", the model gives " + attributeTypeName(a->type());
    return nullptr;
  }
  return a;
}

int64_t NodeContext::attrInt(StringRef name, int64_t dflt) const {
  const auto *a = typedAttr(name, onnx::AttributeProto::INT);
  return a ? a->i() : dflt;
}

float NodeContext::attrFloat(StringRef name, float dflt) const {
  const auto *a = typedAttr(name, onnx::AttributeProto::FLOAT);
  return a ? a->f() : dflt;
}

std::string NodeContext::attrString(StringRef name, StringRef dflt) const {
  const auto *a = typedAttr(name, onnx::AttributeProto::STRING);
  return a ? a->s() : dflt.str();
}

std::optional<SmallVector<int64_t>> NodeContext::attrInts(StringRef name) const {
  const auto *a = typedAttr(name, onnx::AttributeProto::INTS);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

FailureOr<int64_t> NodeContext::normalizeAxis(int64_t axis, int64_t rank,
                                              StringRef what) {
  if (axis < -rank || axis >= rank)
    return error() << what << " " << axis << " is out of range for rank "
                   << rank;
  return axis < 0 ? axis + rank : axis;
}

FailureOr<DenseElementsAttr> NodeContext::tensorAttr(const onnx::TensorProto &t,
                                                    StringRef what) {
  auto attr = graph.convertTensor(t, what, loc, /*allowResource=*/false);
  if (failed(attr))
    return failure();
  return cast<DenseElementsAttr>(*attr);
}

Type NodeContext::inferred() { return NoneType::get(ctx()); }

FailureOr<SmallVector<Value>> NodeContext::finalize(Operation *op) {
  if (auto iface = dyn_cast<InferTypeOpInterface>(op)) {
    SmallVector<Type> types;
    if (failed(iface.inferReturnTypes(ctx(), op->getLoc(), op->getOperands(),
                                      op->getRawDictionaryAttrs(),
                                      op->getPropertiesStorage(),
                                      op->getRegions(), types))) {
      op->erase();
      return failure();
    }
    for (auto [r, t] : llvm::zip(op->getResults(), types))
      r.setType(t);
  }
  if (failed(mlir::verify(op, /*verifyRecursively=*/false))) {
    op->erase();
    return failure();
  }
  SmallVector<OpFoldResult> folded;
  if (succeeded(op->fold(folded)) && !folded.empty()) {
    SmallVector<Value> out;
    for (auto [r, f] : llvm::zip(op->getResults(), folded)) {
      if (auto v = dyn_cast<Value>(f)) {
        out.push_back(v);
        continue;
      }
      auto attr = cast<ElementsAttr>(cast<Attribute>(f));
      out.push_back(ConstantOp::create(builder(), loc, attr));
    }
    if (llvm::none_of(out, [&](Value v) { return v.getDefiningOp() == op; }))
      op->erase();
    return out;
  }
  return SmallVector<Value>(op->getResults());
}

Value NodeContext::constant(DenseElementsAttr value) {
  return ConstantOp::create(builder(), loc, cast<ElementsAttr>(value));
}

Value NodeContext::scalarConstant(Type et, double value) {
  auto type = RankedTensorType::get({}, et);
  if (auto ft = dyn_cast<FloatType>(et)) {
    APFloat f(value);
    bool lost;
    f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    return constant(DenseElementsAttr::get(type, f));
  }
  if (et.isInteger(1))
    return constant(DenseElementsAttr::get(type, value != 0));
  return constant(DenseElementsAttr::get(
      type, APInt(et.getIntOrFloatBitWidth(), (uint64_t)(int64_t)value, true)));
}

FailureOr<Value> NodeContext::reshape(Value v, ArrayRef<int64_t> shape) {
  return create<ReshapeOp>(RankedTensorType::get(shape, elementTypeOf(v)), v);
}

FailureOr<Value> NodeContext::transpose(Value v, ArrayRef<int64_t> perm) {
  return create<TransposeOp>(inferred(), v, perm);
}

FailureOr<Value> NodeContext::binary(BinaryKind kind, Value a, Value b) {
  return create<BinaryOp>(inferred(), kind, a, b);
}

FailureOr<Value> NodeContext::unary(UnaryKind kind, Value a,
                                    std::optional<float> alpha,
                                    std::optional<float> beta) {
  FloatAttr al = alpha ? builder().getF32FloatAttr(*alpha) : FloatAttr();
  FloatAttr be = beta ? builder().getF32FloatAttr(*beta) : FloatAttr();
  return create<UnaryOp>(inferred(), kind, a, al, be);
}

FailureOr<Value> NodeContext::reduce(ReduceKind kind, Value v,
                                     ArrayRef<int64_t> axes, bool keepDims) {
  return create<ReduceOp>(inferred(), kind, v, axes, keepDims);
}

LogicalResult NodeContext::checkIndices(int i, ArrayRef<int64_t> dims, bool componentwise) {
  Value indices = input(i);
  auto type = cast<RankedTensorType>(indices.getType());
  int64_t k = dims.size(), rank = type.getRank();
  auto intType = dyn_cast<IntegerType>(type.getElementType());
  if (!intType || (intType.getWidth() != 32 && intType.getWidth() != 64))
    return error() << "input " << i << " ('" << node.input(i)
                   << "') must be int32 or int64 indices, not " << type.getElementType();
  if (type.getNumElements() == 0 || k == 0)
    return success();
  if (componentwise && (rank == 0 || type.getDimSize(rank - 1) != k))
    return error() << "input " << i << " ('" << node.input(i) << "') of shape "
                   << type << " must end in a dim of " << k;
  if (DenseElementsAttr c = constInput(i)) {
    int64_t position = 0;
    for (APInt raw : c.getValues<APInt>()) {
      int64_t v = raw.getSExtValue(), comp = componentwise ? position % k : 0;
      int64_t d = dims[comp];
      if (v < -d || v >= d) {
        auto diag = error() << "index " << v << " in input " << i << " ('" << node.input(i)
                            << "') is out of range [" << -d << ", " << d - 1 << "]";
        if (componentwise)
          diag << " (position " << comp << " of its last axis)";
        return diag;
      }
      ++position;
    }
    return success();
  }
  if (!graph.options.indexChecks)
    return success();
  std::string what = node.op_type() + " node '";
  if (auto name = dyn_cast<NameLoc>(loc))
    what += name.getName().str();
  what += "' input '" + node.input(i) + "'";
  // Two nodes reading the same indices against the same dims (the cos and
  // sin caches of rotary embeddings) share one check.
  for (const auto &check : graph.indexChecks)
    if (check.indices == indices && ArrayRef<int64_t>(check.dims) == dims)
      return success();
  auto i64 = IntegerType::get(ctx(), 64);
  auto wide = castTo(indices, i64);
  if (failed(wide))
    return failure();
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < (componentwise ? rank - 1 : rank); ++d)
    axes.push_back(d);
  SmallVector<Value> parts;
  for (ReduceKind kind : {ReduceKind::Min, ReduceKind::Max}) {
    FailureOr<Value> r = *wide;
    if (!axes.empty())
      r = reduce(kind, *wide, axes, /*keepDims=*/false);
    if (succeeded(r))
      r = reshape(*r, {componentwise ? k : 1});
    if (failed(r))
      return failure();
    parts.push_back(*r);
  }
  auto minMax = create<ConcatOp>(inferred(), parts, 0);
  if (failed(minMax))
    return failure();
  graph.indexChecks.push_back({indices, *minMax, what, llvm::to_vector(dims)});
  return success();
}

FailureOr<Value> NodeContext::castTo(Value v, Type et) {
  if (elementTypeOf(v) == et)
    return v;
  return create<CastOp>(RankedTensorType::get(shapeOf(v), et), v);
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

void kiln::registerImportDialects(MLIRContext &ctx) {
  ctx.loadDialect<KilnDialect, func::FuncDialect>();
}

llvm::Expected<HostTensor> kiln::readTensorFile(StringRef path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buf)
    return llvm::createStringError("cannot read '" + path.str() +
                                   "': " + buf.getError().message());
  onnx::TensorProto t;
  try {
    if (!t.ParseFromArray((*buf)->getBufferStart(), (int)(*buf)->getBufferSize()))
      return llvm::createStringError("'" + path.str() +
                                     "' is not a serialized ONNX TensorProto");
  } catch (const std::exception &e) {
    return llvm::createStringError("'" + path.str() + "': " + e.what());
  }
  HostTensor h;
  h.name = t.name();
  h.dtype = t.data_type();
  int64_t numel = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || (d > 0 && numel > (int64_t(1) << 40) / d))
      return llvm::createStringError("'" + path.str() +
                                     "' is not a valid tensor (bad dimensions)");
    h.shape.push_back(d);
    numel *= d;
  }
  int64_t width = dataTypeBytes(h.dtype);
  if (width == 0)
    return llvm::createStringError("'" + path.str() + "': unsupported element type " +
                                   detail::onnxTypeName(h.dtype).str());
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return llvm::createStringError("'" + path.str() + "': external data is not supported here");
  if (auto err = decodeTensorBytes(t, numel, width, h.bytes))
    return llvm::createStringError("'" + path.str() + "': tensor " + *err);
  return h;
}

/// libonnx's messages on one line (some print a node proto over several).
static std::string oneLine(StringRef message) {
  std::string out;
  for (char c : message.trim()) {
    bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (space && (out.empty() || out.back() == ' '))
      continue;
    out += space ? ' ' : c;
  }
  return out;
}

/// "<n> bytes" with a binary unit, for size errors.
static std::string formatBytes(uint64_t bytes) {
  const char *units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  double v = (double)bytes;
  while (v >= 1024 && unit < 6) {
    v /= 1024;
    ++unit;
  }
  std::string out;
  llvm::raw_string_ostream os(out);
  if (unit == 0)
    os << bytes << " bytes";
  else
    os << llvm::format("%.1f ", v) << units[unit];
  return out;
}

/// Checks a tensor size against the limit: the element count of `dims`
/// times `width` bytes must not overflow nor exceed `maxBytes`. `what`
/// names the tensor in the error ("graph input 'x'").
static LogicalResult checkTensorSize(ArrayRef<int64_t> dims, int64_t width,
                                     uint64_t maxBytes, const Twine &what,
                                     Location loc) {
  uint64_t bytes = (uint64_t)std::max<int64_t>(width, 1);
  bool over = false;
  for (int64_t d : dims) {
    if (d < 0)
      continue; // dynamic or checked by the caller
    if (d != 0 && bytes > std::numeric_limits<uint64_t>::max() / (uint64_t)d) {
      over = true;
      break;
    }
    bytes *= (uint64_t)d;
  }
  if (llvm::is_contained(dims, 0))
    return success();
  if (!over && bytes <= maxBytes)
    return success();
  std::string shape;
  llvm::raw_string_ostream os(shape);
  llvm::interleave(dims, os, "x");
  auto diag = emitError(loc) << what << " of shape " << shape << " needs ";
  if (over)
    diag << "more than 2^64 bytes";
  else
    diag << formatBytes(bytes);
  diag << ", over the limit of " << formatBytes(maxBytes)
       << " per tensor (kilnc --max-tensor-bytes)";
  return failure();
}

/// Checks what the graph declares before libonnx's checker and shape
/// inference see it, so that errors name the tensor: every graph input and
/// output has a tensor type with a known element type and no negative
/// dimension, initializers are named once with a known element type,
/// non-negative dimensions and a size within the limit.
static LogicalResult checkDeclarations(const onnx::ModelProto &model,
                                       const ImportOptions &options,
                                       Location loc) {
  const onnx::GraphProto &graph = model.graph();
  MLIRContext *ctx = loc.getContext();
  auto checkValue = [&](const onnx::ValueInfoProto &vi, StringRef role) -> LogicalResult {
    if (!vi.has_type())
      return emitError(loc) << role << " '" << vi.name() << "' has no type";
    if (!vi.type().has_tensor_type())
      return success(); // sequences and maps: refused where they are used
    const auto &tt = vi.type().tensor_type();
    if (!onnx::TensorProto_DataType_IsValid(tt.elem_type()) &&
        onnxTypeName(tt.elem_type()) == "unknown")
      return emitError(loc) << role << " '" << vi.name() << "' has unknown element type "
                            << tt.elem_type();
    if (tt.elem_type() == onnx::TensorProto::UNDEFINED)
      return emitError(loc) << role << " '" << vi.name() << "' has no element type";
    if (!tt.has_shape())
      return success();
    SmallVector<int64_t> dims;
    for (auto [i, d] : llvm::enumerate(tt.shape().dim())) {
      if (d.has_dim_value() && d.dim_value() < 0)
        return emitError(loc) << role << " '" << vi.name() << "' has negative dimension "
                              << d.dim_value() << " at index " << i;
      dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    }
    Type et = convertElementType(ctx, tt.elem_type());
    return checkTensorSize(dims, et ? byteWidth(et) : 1, options.maxTensorBytes,
                           role + " '" + vi.name() + "'", loc);
  };
  for (const auto &vi : graph.input())
    if (failed(checkValue(vi, "graph input")))
      return failure();
  for (const auto &vi : graph.output())
    if (failed(checkValue(vi, "graph output")))
      return failure();
  llvm::StringSet<> seen, initialized;
  for (const auto &t : graph.initializer())
    initialized.insert(t.name());
  for (const auto &vi : graph.input())
    if (!initialized.contains(vi.name()) && vi.type().has_tensor_type() &&
        !vi.type().tensor_type().has_shape())
      return emitError(loc) << "graph input '" << vi.name()
                            << "' has no shape; pin it with --input-shape " << vi.name()
                            << "=D0xD1x...";
  // Single assignment: every value is defined once.
  llvm::StringSet<> defined(initialized);
  for (const auto &vi : graph.input())
    defined.insert(vi.name());
  for (auto [index, node] : llvm::enumerate(graph.node()))
    for (const std::string &out : node.output())
      if (!out.empty() && !defined.insert(out).second)
        return emitError(NameLoc::get(StringAttr::get(ctx, nodeDisplayName(node, index)), loc))
               << node.op_type() << " output '" << out
               << "' is already defined (by an earlier node, a graph input or an initializer)";
  // Window sizes libonnx's shape inference divides by (a zero stride
  // there is a division by zero, not an error).
  for (auto [index, node] : llvm::enumerate(graph.node()))
    for (const auto &attr : node.attribute()) {
      StringRef name = attr.name();
      if (name != "strides" && name != "dilations" && name != "kernel_shape")
        continue;
      for (int64_t v : attr.ints())
        if (v < 1)
          return emitError(NameLoc::get(StringAttr::get(ctx, nodeDisplayName(node, index)), loc))
                 << node.op_type() << " attribute '" << name << "' has value " << v
                 << "; it must be positive";
    }
  // Ranks that libonnx's convolution shape inference takes for granted (it
  // indexes the weight's dims by the input's rank): the input and the weight
  // of a convolution have the same rank, at least 3, and kernel_shape one
  // entry per spatial dim. Checked where the model declares the ranks (graph
  // inputs, initializers, value_info).
  llvm::StringMap<int64_t> ranks;
  for (const auto &t : graph.initializer())
    ranks[t.name()] = t.dims_size();
  for (const auto *list : {&graph.input(), &graph.value_info()})
    for (const auto &vi : *list)
      if (vi.type().has_tensor_type() && vi.type().tensor_type().has_shape())
        ranks.try_emplace(vi.name(), vi.type().tensor_type().shape().dim_size());
  for (auto [index, node] : llvm::enumerate(graph.node())) {
    StringRef op = node.op_type();
    if (op != "Conv" && op != "ConvTranspose" && op != "ConvInteger")
      continue;
    if (node.input_size() < 2)
      continue; // the arity check names it
    auto nodeError = [&, index = index, &node = node]() {
      return emitError(NameLoc::get(StringAttr::get(ctx, nodeDisplayName(node, index)), loc))
             << node.op_type() << ": ";
    };
    auto x = ranks.find(node.input(0)), w = ranks.find(node.input(1));
    for (auto it : {x, w})
      if (it != ranks.end() && it->second < 3)
        return nodeError() << "input '" << it->getKey() << "' has rank " << it->second
                           << "; a convolution's input and weight have rank 3 or more";
    if (x != ranks.end() && w != ranks.end() && x->second != w->second)
      return nodeError() << "input '" << x->getKey() << "' has rank " << x->second
                         << " but weight '" << w->getKey() << "' has rank " << w->second
                         << "; they must be equal";
    auto known = x != ranks.end() ? x : w;
    if (known != ranks.end())
      for (const auto &attr : node.attribute())
        if (attr.name() == "kernel_shape" && attr.ints_size() != known->second - 2)
          return nodeError() << "kernel_shape has " << attr.ints_size() << " entries; input '"
                             << known->getKey() << "' of rank " << known->second << " has "
                             << known->second - 2 << " spatial dims";
  }
  for (const auto &t : graph.initializer()) {
    if (!seen.insert(t.name()).second)
      return emitError(loc) << "initializer '" << t.name() << "' is defined twice";
    if (!onnx::TensorProto_DataType_IsValid(t.data_type()) &&
        onnxTypeName(t.data_type()) == "unknown")
      return emitError(loc) << "initializer '" << t.name() << "' has unknown element type "
                            << t.data_type();
    SmallVector<int64_t> dims(t.dims().begin(), t.dims().end());
    for (auto [i, d] : llvm::enumerate(dims))
      if (d < 0)
        return emitError(loc) << "initializer '" << t.name() << "' has negative dimension "
                              << d << " at index " << i;
    Type et = convertElementType(ctx, t.data_type());
    if (failed(checkTensorSize(dims, et ? byteWidth(et) : 1, options.maxTensorBytes,
                               "initializer '" + t.name() + "'", loc)))
      return failure();
  }
  return success();
}

/// Every result the importer built must fit the tensor size limit (an
/// Expand, Tile or ConstantOfShape to 10^12 elements is an error naming
/// its node, not an allocation at compile or run time).
static LogicalResult checkResultSizes(ModuleOp module, uint64_t maxBytes) {
  WalkResult r = module.walk([&](Operation *op) {
    for (Value v : op->getResults()) {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      if (!type || !type.getElementType().isIntOrFloat())
        continue;
      if (failed(checkTensorSize(type.getShape(), byteWidth(type.getElementType()),
                                 maxBytes, "the result", op->getLoc())))
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

/// Reports, in one error, every op type that Kiln cannot import, with the
/// first node using it.
static LogicalResult checkUnsupported(const onnx::ModelProto &model,
                                      Location loc) {
  const auto &importers = getOpImporters();
  llvm::MapVector<StringRef, std::string> missing;
  forEachNode(model.graph(), [&](const onnx::NodeProto &node, int index) {
    StringRef domain = node.domain();
    bool known = (domain.empty() || domain == "ai.onnx") &&
                 importers.count(node.op_type());
    if (known)
      return;
    std::string key = domain.empty() ? node.op_type() : domain.str() + "." + node.op_type();
    std::string nodeName = nodeDisplayName(node, index);
    missing.insert({StringRef(node.op_type()), "'" + key + "' (first at node '" + nodeName + "')"});
  });
  if (missing.empty())
    return success();
  auto diag = emitError(loc) << "unsupported ONNX op"
                                    << (missing.size() > 1 ? "s: " : ": ");
  llvm::interleaveComma(missing, diag, [&](auto &kv) { diag << kv.second; });
  return failure();
}

std::vector<SupportedOnnxOp> kiln::supportedOnnxOps() {
  std::vector<SupportedOnnxOp> out;
  for (const OnnxOpVersions &entry : kOnnxOpVersions) {
    if (!getOpImporters().count(entry.op))
      continue;
    SupportedOnnxOp op{entry.op, {}};
    for (int v : entry.versions)
      if (v >= oldestImplementedOpVersion(entry.op) && v <= implementedOpVersion(entry.op) &&
          v <= kMaxOpset)
        op.versions.push_back(v);
    out.push_back(std::move(op));
  }
  return out;
}

/// Reports, in one error, every node whose op is not part of the model's
/// opset or whose version there (the opset in which the op last changed)
/// is newer than its importer implements.
static LogicalResult checkOpVersions(const onnx::ModelProto &model, int64_t opset,
                                     Location loc) {
  llvm::MapVector<StringRef, std::string> problems;
  forEachNode(model.graph(), [&](const onnx::NodeProto &node, int index) {
    StringRef op = node.op_type();
    if (!(node.domain().empty() || node.domain() == "ai.onnx") || problems.count(op))
      return;
    int64_t since = onnxOpVersion(op, opset);
    std::string where = "(first at node '" + nodeDisplayName(node, index) + "')";
    if (since == 0) {
      problems.insert({op, "'" + op.str() + "' is not an operator of opset " +
                               std::to_string(opset) + " " + where});
    } else if (since < oldestImplementedOpVersion(op)) {
      problems.insert({op, "'" + op.str() + "' in its opset-" + std::to_string(since) +
                               " form (Kiln reads it from its opset-" +
                               std::to_string(oldestImplementedOpVersion(op)) + " form on) " +
                               where});
    } else if (since > implementedOpVersion(op)) {
      problems.insert({op, "'" + op.str() + "' as changed in opset " + std::to_string(since) +
                               " (Kiln implements it up to its opset-" +
                               std::to_string(implementedOpVersion(op)) + " form) " + where});
    }
  });
  if (problems.empty())
    return success();
  auto diag = emitError(loc) << "unsupported ONNX op version"
                             << (problems.size() > 1 ? "s" : "") << " in this opset-" << opset
                             << " model: ";
  llvm::interleaveComma(problems, diag, [&](auto &kv) { diag << kv.second; });
  return failure();
}

/// Resolves every initializer stored in an external file, so that the
/// checker and the importer see self-contained tensors: small ones (shape
/// data that inference may read) are copied into the model; larger ones
/// stay in the mapped file (ExternalFiles::mapped), their proto holding a
/// stand-in.
static LogicalResult inlineExternalData(onnx::ModelProto &model, ExternalFiles &files,
                                        Location loc) {
  for (auto &t : *model.mutable_graph()->mutable_initializer()) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL)
      continue;
    auto data = files.read(t, t.name(), loc);
    if (failed(data))
      return failure();
    if ((int64_t)data->bytes.size() > ExternalFiles::kInlineBytes) {
      // libonnx's checker wants one value field and looks an external
      // file up from the working folder: one byte stands in for the data,
      // which no check or inference reads (its sizes are not checked, and
      // inference reads the values of shape-like inputs only).
      files.mapped[&t] = *data;
      t.set_raw_data(std::string(1, '\0'));
    } else {
      t.set_raw_data(std::string(data->bytes.data(), data->bytes.size()));
    }
    t.clear_external_data();
    t.set_data_location(onnx::TensorProto::DEFAULT);
  }
  return success();
}

/// Turns the graph inputs named in options.frozenInputs into initializers.
static LogicalResult freezeInputs(onnx::ModelProto &model,
                                  const ImportOptions &options, Location loc) {
  auto *graph = model.mutable_graph();
  for (const auto &[name, value] : options.frozenInputs) {
    const onnx::ValueInfoProto *input = nullptr;
    for (const auto &vi : graph->input())
      if (vi.name() == name)
        input = &vi;
    if (!input)
      return emitError(loc) << "cannot freeze '" << name
                            << "': the model has no such input";
    if (input->type().tensor_type().elem_type() != value.dtype)
      return emitError(loc) << "cannot freeze '" << name << "': its value has type "
                            << kiln::detail::onnxTypeName(value.dtype)
                            << ", the input is "
                            << kiln::detail::onnxTypeName(input->type().tensor_type().elem_type());
    auto *t = graph->add_initializer();
    t->set_name(name);
    t->set_data_type(value.dtype);
    for (int64_t d : value.shape)
      t->add_dims(d);
    t->set_raw_data(value.bytes);
  }
  return success();
}

static bool looksLikeText(StringRef bytes) {
  StringRef t = bytes.ltrim();
  return t.starts_with("<") || t.starts_with("#") ||
         (!t.empty() && (llvm::isAlpha(t[0]) || t[0] == '_'));
}

static OwningOpRef<ModuleOp> importModel(MLIRContext &ctx, StringRef bytes,
                                         bool isText, ImportOptions options) {
  registerImportDialects(ctx);
  Location loc = FileLineColLoc::get(&ctx, options.modelName, 0, 0);
  onnx::ModelProto model;
  try {
    if (isText) {
      std::string text = bytes.str();
      onnx::OnnxParser parser(text.c_str());
      auto status = parser.Parse(model);
      if (!status.IsOK()) {
        emitError(loc) << "cannot parse ONNX text: " << status.ErrorMessage();
        return nullptr;
      }
    } else if (bytes.size() > (size_t)INT_MAX ||
               !model.ParseFromArray(bytes.data(), (int)bytes.size())) {
      emitError(loc) << "not a valid ONNX model (truncated or corrupt "
                        "protobuf, " << bytes.size() << " bytes)";
      return nullptr;
    }
    if (!model.has_graph()) {
      emitError(loc) << "the model has no graph";
      return nullptr;
    }
    int64_t opset = -1;
    for (const auto &imp : model.opset_import())
      if (imp.domain().empty() || imp.domain() == "ai.onnx")
        opset = imp.version();
    if (opset < 0) {
      emitError(loc) << "the model imports no default-domain (ai.onnx) opset";
      return nullptr;
    }
    if (opset < kMinOpset || opset > kMaxOpset) {
      emitError(loc) << "unsupported opset " << opset
                     << " (Kiln supports default-domain opsets " << kMinOpset
                     << " to " << kMaxOpset << ")";
      return nullptr;
    }
    if (model.ir_version() != 0 &&
        (model.ir_version() < kMinIrVersion || model.ir_version() > kMaxIrVersion)) {
      emitError(loc) << "unsupported ONNX IR version " << model.ir_version()
                     << " (Kiln reads IR versions " << kMinIrVersion << " to "
                     << kMaxIrVersion << ")";
      return nullptr;
    }
    ExternalFiles externalFiles(options);
    if (failed(checkUnsupported(model, loc)) ||
        failed(inlineExternalData(model, externalFiles, loc)))
      return nullptr;
    if (failed(checkOpVersions(model, opset, loc)))
      return nullptr;
    if (failed(freezeInputs(model, options, loc)))
      return nullptr;
    // Pin user-given input shapes before inference so that every
    // downstream shape becomes static.
    for (auto &vi : *model.mutable_graph()->mutable_input()) {
      auto it = options.inputShapes.find(vi.name());
      if (it == options.inputShapes.end() || !vi.type().has_tensor_type())
        continue;
      auto *shape = vi.mutable_type()->mutable_tensor_type()->mutable_shape();
      // A pinned shape may fill in unknown dims, never contradict known ones.
      ArrayRef<int64_t> pinned = it->second;
      if (vi.type().tensor_type().has_shape()) {
        if (shape->dim_size() != (int)pinned.size()) {
          emitError(loc) << "--input-shape gives input '" << vi.name()
                         << "' rank " << pinned.size()
                         << ", the model declares rank " << shape->dim_size();
          return nullptr;
        }
        for (int i = 0; i < shape->dim_size(); ++i)
          if (shape->dim(i).has_dim_value() &&
              shape->dim(i).dim_value() != pinned[i]) {
            emitError(loc) << "--input-shape gives input '" << vi.name()
                           << "' size " << pinned[i] << " at index " << i
                           << ", the model declares " << shape->dim(i).dim_value();
            return nullptr;
          }
      }
      shape->clear_dim();
      for (int64_t d : it->second)
        shape->add_dim()->set_dim_value(d);
    }
    if (failed(checkDeclarations(model, options, loc)))
      return nullptr;
    if (model.ir_version() == 0)
      model.set_ir_version(onnx::IR_VERSION);
    bool libonnxKnows = model.ir_version() <= kLibOnnxMaxIrVersion && opset <= kLibOnnxMaxOpset;
    if (libonnxKnows) {
      try {
        onnx::checker::check_model(model);
      } catch (const std::exception &e) {
        emitError(loc) << "invalid ONNX model: " << oneLine(e.what());
        return nullptr;
      }
    }
    // The exporter's value_info is not trusted. The importer's own checks
    // come first (every input defined, each op's inputs, attributes, ranks
    // and types verified as it is converted): libonnx's shape inference
    // reads past the dims of tensors of the wrong rank, so it only sees
    // models the importer has accepted, and checks their shapes after.
    model.mutable_graph()->clear_value_info();
    GraphImporter importer(&ctx, model, options, opset);
    importer.external = &externalFiles;
    OwningOpRef<ModuleOp> module = importer.run();
    if (!module || failed(checkResultSizes(*module, options.maxTensorBytes)))
      return nullptr;
    if (libonnxKnows && !hasMisinferredOp(model)) {
      onnx::ShapeInferenceOptions inferOptions{/*check_type=*/true,
                                               /*error_mode=*/1,
                                               /*enable_data_propagation=*/true};
      try {
        onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                           inferOptions);
      } catch (const std::exception &e) {
        emitError(loc) << "ONNX shape inference failed: " << oneLine(e.what());
        return nullptr;
      }
      if (failed(importer.checkInferredShapes()))
        return nullptr;
    }
    return module;
  } catch (const std::exception &e) {
    emitError(loc) << "cannot import the model: " << e.what();
    return nullptr;
  }
}

llvm::Expected<std::vector<DeclaredInput>> kiln::readDeclaredInputs(StringRef bytes) {
  onnx::ModelProto model;
  bool parsed = bytes.size() <= (size_t)INT_MAX &&
                model.ParseFromArray(bytes.data(), (int)bytes.size()) && model.has_graph();
  if (!parsed && looksLikeText(bytes)) {
    try {
      std::string text = bytes.str();
      onnx::OnnxParser parser(text.c_str());
      model.Clear();
      parsed = parser.Parse(model).IsOK();
    } catch (const std::exception &) {
      parsed = false;
    }
  }
  if (!parsed)
    return llvm::createStringError("not a valid ONNX model");
  llvm::StringSet<> initializers;
  for (const auto &init : model.graph().initializer())
    initializers.insert(init.name());
  std::vector<DeclaredInput> inputs;
  for (const auto &vi : model.graph().input()) {
    if (initializers.contains(vi.name()))
      continue;
    DeclaredInput in;
    in.name = vi.name();
    if (vi.type().has_tensor_type()) {
      const auto &tt = vi.type().tensor_type();
      in.dtype = tt.elem_type();
      in.hasShape = tt.has_shape();
      for (const auto &d : tt.shape().dim()) {
        bool known = d.has_dim_value() && d.dim_value() >= 0;
        in.dims.push_back(known ? d.dim_value() : -1);
        in.dimNames.push_back(!known && d.has_dim_param() ? d.dim_param() : "");
      }
    }
    inputs.push_back(std::move(in));
  }
  return inputs;
}

llvm::Expected<std::vector<DeclaredInput>> kiln::readDeclaredInputsFile(StringRef path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buf)
    return llvm::createStringError("cannot read '" + path + "': " + buf.getError().message());
  return readDeclaredInputs((*buf)->getBuffer());
}

OwningOpRef<ModuleOp> kiln::importOnnxBinary(MLIRContext &ctx, StringRef bytes,
                                             const ImportOptions &options) {
  return importModel(ctx, bytes, /*isText=*/false, options);
}

OwningOpRef<ModuleOp> kiln::importOnnxText(MLIRContext &ctx, StringRef text,
                                           const ImportOptions &options) {
  return importModel(ctx, text, /*isText=*/true, options);
}

OwningOpRef<ModuleOp> kiln::importOnnxBytes(MLIRContext &ctx, StringRef bytes,
                                            const ImportOptions &options) {
  bool isText = false;
  if (!bytes.empty()) {
    onnx::ModelProto probe;
    isText = !probe.ParseFromArray(bytes.data(), (int)std::min<size_t>(bytes.size(), INT_MAX)) &&
             looksLikeText(bytes);
  }
  return importModel(ctx, bytes, isText, options);
}

OwningOpRef<ModuleOp> kiln::importOnnxFile(MLIRContext &ctx, StringRef path,
                                           ImportOptions options) {
  Location loc = FileLineColLoc::get(&ctx, path, 0, 0);
  auto buf = path == "-" ? llvm::MemoryBuffer::getSTDIN()
                         : llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buf) {
    registerImportDialects(ctx);
    emitError(loc) << "cannot read '" << path << "': " << buf.getError().message();
    return nullptr;
  }
  options.modelName = path.str();
  if (path != "-" && options.modelDir.empty()) {
    SmallString<256> dir(path);
    llvm::sys::path::remove_filename(dir);
    options.modelDir = dir.empty() ? "." : std::string(dir);
  }
  StringRef bytes = (*buf)->getBuffer();
  if (path.ends_with(".onnxtxt"))
    return importModel(ctx, bytes, /*isText=*/true, options);
  if (path.ends_with(".onnx"))
    return importModel(ctx, bytes, /*isText=*/false, options);
  return importOnnxBytes(ctx, bytes, options);
}
