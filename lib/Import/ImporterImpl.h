//===- ImporterImpl.h - internals shared by the ONNX importer ---*- C++ -*-===//
#ifndef KILN_LIB_IMPORT_IMPORTERIMPL_H
#define KILN_LIB_IMPORT_IMPORTERIMPL_H

#include "kiln/Dialect/Kiln/KilnOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringMap.h"

#include <onnx/onnx_pb.h>

#include <functional>
#include <string>
#include <type_traits>
#include <optional>

namespace kiln {
namespace detail {

class GraphImporter;

/// One ONNX node being imported: typed access to its inputs and
/// attributes, and helpers that build verified, folded kiln ops.
class NodeContext {
public:
  NodeContext(GraphImporter &graph, const onnx::NodeProto &node,
              mlir::Location loc, int64_t opset)
      : graph(graph), node(node), loc(loc), opset(opset) {}

  GraphImporter &graph;
  const onnx::NodeProto &node;
  mlir::Location loc;
  int64_t opset;
  /// The highest input index the importer asked for (hasInput, input, ...):
  /// an input given beyond it, and beyond the op's schema, was ignored.
  mutable int highestInputRead = -1;
  /// The first attribute read with a type other than the one it holds
  /// (reported once the importer returns: its value was not used).
  mutable std::string wrongAttribute;

  mlir::OpBuilder &builder();
  mlir::MLIRContext *ctx();

  /// Reports an error at this node, prefixed with the op type.
  mlir::InFlightDiagnostic error();

  int numInputs() const { return node.input_size(); }
  /// Whether input `i` is given (present and non-empty).
  bool hasInput(int i) const;
  /// The value of input `i`, or null if absent.
  mlir::Value input(int i);
  /// Input `i`, which the op requires; reports an error if absent.
  mlir::FailureOr<mlir::Value> requiredInput(int i);
  /// Input `i` as a compile-time constant; null if not constant.
  mlir::DenseElementsAttr constInput(int i);
  /// Input `i` as constant integers; reports an error naming `what` if the
  /// input is not a compile-time constant.
  mlir::FailureOr<llvm::SmallVector<int64_t>> constInts(int i,
                                                        llvm::StringRef what);
  /// Input `i` as constant floating-point values.
  mlir::FailureOr<llvm::SmallVector<double>> constFloats(int i,
                                                         llvm::StringRef what);

  int numOutputs() const { return node.output_size(); }
  /// Whether output `i` exists and is consumed or a graph output.
  bool outputUsed(int i) const;
  void setOutput(int i, mlir::Value v);

  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  /// Attribute `name` if it holds `type`; null if absent, and null with
  /// wrongAttribute set if it holds another type.
  const onnx::AttributeProto *typedAttr(llvm::StringRef name,
                                        onnx::AttributeProto::AttributeType type) const;
  int64_t attrInt(llvm::StringRef name, int64_t dflt) const;
  float attrFloat(llvm::StringRef name, float dflt) const;
  std::string attrString(llvm::StringRef name, llvm::StringRef dflt) const;
  std::optional<llvm::SmallVector<int64_t>> attrInts(llvm::StringRef name) const;

  /// Index input `i` (an integer tensor) addresses dims of sizes
  /// `dims`: one dim for every element, or with `componentwise` one per
  /// position along the last axis (GatherND). Constant indices are
  /// checked now; others at run time (ImportOptions::indexChecks).
  mlir::LogicalResult checkIndices(int i, llvm::ArrayRef<int64_t> dims,
                                   bool componentwise = false);

  /// Normalizes a possibly negative axis against `rank`; reports an error if
  /// it is out of range.
  mlir::FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank,
                                         llvm::StringRef what = "axis");

  /// Creates, type-checks and folds an op. Ops with InferTypeOpInterface get
  /// their result types inferred (pass any placeholder type); the op is
  /// verified, then folded when possible. Returns the first result.
  template <typename OpT, typename... Args>
  mlir::FailureOr<mlir::Value> create(Args &&...args) {
    auto op = OpT::create(builder(), loc, std::forward<Args>(args)...);
    auto results = finalize(op.getOperation());
    if (mlir::failed(results))
      return mlir::failure();
    return (*results)[0];
  }
  /// Like create, for ops with several results.
  template <typename OpT, typename... Args>
  mlir::FailureOr<llvm::SmallVector<mlir::Value>> createMulti(Args &&...args) {
    auto op = OpT::create(builder(), loc, std::forward<Args>(args)...);
    return finalize(op.getOperation());
  }

  /// Converts a tensor-valued attribute to a dense constant.
  mlir::FailureOr<mlir::DenseElementsAttr>
  tensorAttr(const onnx::TensorProto &t, llvm::StringRef what);

  /// Placeholder result type for ops whose types are inferred.
  mlir::Type inferred();

  // Common building blocks.
  mlir::Value constant(mlir::DenseElementsAttr value);
  mlir::Value scalarConstant(mlir::Type elementType, double value);
  mlir::FailureOr<mlir::Value> reshape(mlir::Value v,
                                       llvm::ArrayRef<int64_t> shape);
  mlir::FailureOr<mlir::Value> transpose(mlir::Value v,
                                         llvm::ArrayRef<int64_t> perm);
  mlir::FailureOr<mlir::Value> binary(BinaryKind kind, mlir::Value a,
                                      mlir::Value b);
  mlir::FailureOr<mlir::Value> unary(UnaryKind kind, mlir::Value a,
                                     std::optional<float> alpha = std::nullopt,
                                     std::optional<float> beta = std::nullopt);
  mlir::FailureOr<mlir::Value> reduce(ReduceKind kind, mlir::Value v,
                                      llvm::ArrayRef<int64_t> axes,
                                      bool keepDims);
  mlir::FailureOr<mlir::Value> castTo(mlir::Value v, mlir::Type elementType);

private:
  mlir::FailureOr<llvm::SmallVector<mlir::Value>> finalize(mlir::Operation *op);
};

/// Imports a control-flow subgraph (If's branch, Loop's or Scan's body)
/// inline where `nc`'s node is: its inputs bound to `inputs`, its nodes
/// imported, its outputs returned. Outer-scope values stay visible.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
importSubgraph(NodeContext &nc, const onnx::GraphProto &graph, llvm::ArrayRef<mlir::Value> inputs);

/// `parts` joined along `axis`, as a tree of concats of at most 16 inputs
/// each: one concat of hundreds of parts (an unrolled sequence's steps)
/// makes bufferization's alias analysis grow quadratically.
mlir::FailureOr<mlir::Value> concatTree(NodeContext &nc, llvm::ArrayRef<mlir::Value> parts,
                                        int64_t axis);

/// Elements [start, start + size * step) step `step` of `x`'s last dim.
mlir::FailureOr<mlir::Value> sliceLast(NodeContext &nc, mlir::Value x, int64_t start,
                                       int64_t size, int64_t step = 1);

/// `sum` + gather(data, indices, axis) * weight (`weight` broadcasts
/// against the gathered values; a null `sum` starts the sum): one tap of
/// the interpolations composed of gathers (GridSample, DeformConv, Resize).
mlir::FailureOr<mlir::Value> addWeightedGather(NodeContext &nc, mlir::Value sum,
                                               mlir::Value data, mlir::Value indices,
                                               int64_t axis, mlir::Value weight);

/// Whether input `i` is a constant stored as INT4/UINT4 (read as
/// int8/uint8 values).
bool isFourBitConstant(NodeContext &nc, int i);

/// Converts one ONNX op type. Returns failure after reporting an error.
using OpImporter = std::function<mlir::LogicalResult(NodeContext &)>;

/// Converts an ONNX op that produces only output 0: returns its value. Most
/// ops are such, and setting the output is then the table's job.
using ValueImporter = std::function<mlir::FailureOr<mlir::Value>(NodeContext &)>;

/// The OpImporter that sets output 0 to what `importValue` returns.
OpImporter oneOutput(ValueImporter importValue);

/// Adds the importers of the quantization ops (QuantizeLinear,
/// DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, ConvInteger,
/// QLinearMatMul, QLinearConv): OnnxQuantImporters.cpp.
void addQuantizationImporters(llvm::StringMap<OpImporter> &table);
/// Adds the importers of ops composed of kiln ops for neural-network
/// layers newer than the core set (losses, Hardmax, LRN, ...):
/// OnnxLayerImporters.cpp.
void addLayerImporters(llvm::StringMap<OpImporter> &table);
/// Adds RNN, GRU and LSTM, unrolled over the sequence:
/// OnnxRecurrentImporters.cpp.
void addRecurrentImporters(llvm::StringMap<OpImporter> &table);
/// Adds If, Loop and Scan, which inline or unroll their subgraphs:
/// OnnxControlFlowImporters.cpp.
void addControlFlowImporters(llvm::StringMap<OpImporter> &table);
/// Adds DFT, STFT, the window functions and MelWeightMatrix:
/// OnnxSignalImporters.cpp.
void addSignalImporters(llvm::StringMap<OpImporter> &table);

/// Evaluates EXPR (a FailureOr); on failure returns failure() from the
/// enclosing function, else binds its value to VAR.
#define TRY(VAR, EXPR)                                                         \
  auto VAR##OrErr = (EXPR);                                                    \
  if (mlir::failed(VAR##OrErr))                                                \
    return mlir::failure();                                                    \
  auto VAR = *VAR##OrErr;

/// The number of elements of `dims`, saturated at INT64_MAX: a model's
/// shapes may multiply past 64 bits, and such a count is then simply too
/// large for every check that compares it.
int64_t product(llvm::ArrayRef<int64_t> dims);

/// "[a, b, c]".
std::string listToString(llvm::ArrayRef<int64_t> v);

/// A Conv of `x` and `w` (plus `bias`, which may be null) with the node's
/// window attributes (kernel_shape, strides, dilations, pads, auto_pad,
/// group); checks the ranks.
mlir::FailureOr<mlir::Value> buildConv(NodeContext &nc, mlir::Value x, mlir::Value w,
                                       mlir::Value bias);

/// Integer indices as i64 with negative entries wrapped by `sizes` (a
/// tensor broadcast against them: the dim size each index addresses).
mlir::FailureOr<mlir::Value> wrapNegativeIndices(NodeContext &nc, mlir::Value indices,
                                                 mlir::Value sizes);

/// The linear positions (i64) of index tuples: `indices` [..., k] address
/// the first k = dims.size() dims of a tensor, negative entries counting
/// from the end; the result has indices' shape without its last dim.
/// GatherND and ScatterND; the indices are checked by checkIndices first.
mlir::FailureOr<mlir::Value> linearIndices(NodeContext &nc, mlir::Value indices,
                                           llvm::ArrayRef<int64_t> dims);

/// Input 0, which must be a floating-point tensor.
mlir::FailureOr<mlir::Value> floatInput(NodeContext &nc);

/// Optional input `i` as one compile-time constant number, `dflt` when the
/// input is absent.
template <typename T>
mlir::FailureOr<T> optionalConstScalar(NodeContext &nc, int i, llvm::StringRef what,
                                       T dflt) {
  if (!nc.hasInput(i))
    return dflt;
  mlir::FailureOr<llvm::SmallVector<T>> values;
  if constexpr (std::is_integral_v<T>)
    values = nc.constInts(i, what);
  else
    values = nc.constFloats(i, what);
  if (mlir::failed(values))
    return mlir::failure();
  if (values->size() != 1)
    return nc.error() << what << " must be a scalar";
  return values->front();
}

/// The table of supported ONNX op types (default domain).
const llvm::StringMap<OpImporter> &getOpImporters();

/// The newest version of a supported op (the opset in which it last
/// changed) that its importer implements: 17 unless the op is listed as
/// implemented in a later version.
int64_t implementedOpVersion(llvm::StringRef op);
/// The oldest version of a supported op that its importer implements (1
/// unless an old form of the op is refused).
int64_t oldestImplementedOpVersion(llvm::StringRef op);

/// Maps an ONNX tensor element type to MLIR; null if unsupported.
mlir::Type convertElementType(mlir::MLIRContext *ctx, int32_t onnxType);

/// Human-readable name of an ONNX element type.
llvm::StringRef onnxTypeName(int32_t onnxType);

/// Shape of a value, which is always a ranked tensor in kiln.
inline llvm::ArrayRef<int64_t> shapeOf(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType()).getShape();
}
inline mlir::Type elementTypeOf(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType()).getElementType();
}

} // namespace detail
} // namespace kiln

#endif // KILN_LIB_IMPORT_IMPORTERIMPL_H
