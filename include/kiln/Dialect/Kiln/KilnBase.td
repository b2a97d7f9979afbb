//===- KilnBase.td - kiln dialect definition and enums ------*- tablegen -*-===//
#ifndef KILN_BASE_TD
#define KILN_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let cppNamespace = "::kiln";
  let summary = "Kiln's graph-level tensor IR";
  let description = [{
    The kiln dialect is the graph-level IR that ONNX models are imported into.
    It is not a mirror of ONNX: the importer normalizes ONNX's many spellings
    onto a small set of well-defined ops on statically shaped tensors
    (for example Flatten, Squeeze and Unsqueeze all become `kiln.reshape`,
    Gemm becomes `kiln.matmul` plus elementwise epilogue ops, and every
    pointwise function is one `kiln.unary` or `kiln.binary` with a kind).
    Later passes fuse and tile these ops and lower them for CPUs and GPUs.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

class Kiln_I32Enum<string name, string doc, list<I32EnumAttrCase> cases>
    : I32EnumAttr<name, doc, cases> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}

def Kiln_UnaryKind : Kiln_I32Enum<"UnaryKind", "pointwise function of one operand", [
  I32EnumAttrCase<"Neg", 0, "neg">,
  I32EnumAttrCase<"Abs", 1, "abs">,
  I32EnumAttrCase<"Sqrt", 2, "sqrt">,
  I32EnumAttrCase<"Reciprocal", 3, "reciprocal">,
  I32EnumAttrCase<"Exp", 4, "exp">,
  I32EnumAttrCase<"Log", 5, "log">,
  I32EnumAttrCase<"Erf", 6, "erf">,
  I32EnumAttrCase<"Tanh", 7, "tanh">,
  I32EnumAttrCase<"Sigmoid", 8, "sigmoid">,
  I32EnumAttrCase<"Relu", 9, "relu">,
  I32EnumAttrCase<"LeakyRelu", 10, "leaky_relu">,
  I32EnumAttrCase<"Elu", 11, "elu">,
  I32EnumAttrCase<"Selu", 12, "selu">,
  I32EnumAttrCase<"HardSigmoid", 13, "hard_sigmoid">,
  I32EnumAttrCase<"HardSwish", 14, "hard_swish">,
  I32EnumAttrCase<"Softplus", 15, "softplus">,
  I32EnumAttrCase<"Floor", 16, "floor">,
  I32EnumAttrCase<"Ceil", 17, "ceil">,
  I32EnumAttrCase<"Round", 18, "round">,
  I32EnumAttrCase<"Sin", 19, "sin">,
  I32EnumAttrCase<"Cos", 20, "cos">,
  I32EnumAttrCase<"Not", 21, "not">,
  I32EnumAttrCase<"Sign", 22, "sign">,
  I32EnumAttrCase<"Tan", 23, "tan">,
  I32EnumAttrCase<"Asin", 24, "asin">,
  I32EnumAttrCase<"Acos", 25, "acos">,
  I32EnumAttrCase<"Atan", 26, "atan">,
  I32EnumAttrCase<"Sinh", 27, "sinh">,
  I32EnumAttrCase<"Cosh", 28, "cosh">,
  I32EnumAttrCase<"Asinh", 29, "asinh">,
  I32EnumAttrCase<"Acosh", 30, "acosh">,
  I32EnumAttrCase<"Atanh", 31, "atanh">
]>;
def Kiln_UnaryKindAttr : EnumAttr<Kiln_Dialect, Kiln_UnaryKind, "unary_kind">;

def Kiln_BinaryKind : Kiln_I32Enum<"BinaryKind", "pointwise function of two operands", [
  I32EnumAttrCase<"Add", 0, "add">,
  I32EnumAttrCase<"Sub", 1, "sub">,
  I32EnumAttrCase<"Mul", 2, "mul">,
  I32EnumAttrCase<"Div", 3, "div">,
  I32EnumAttrCase<"Pow", 4, "pow">,
  I32EnumAttrCase<"Max", 5, "max">,
  I32EnumAttrCase<"Min", 6, "min">,
  I32EnumAttrCase<"And", 7, "and">,
  I32EnumAttrCase<"Or", 8, "or">,
  I32EnumAttrCase<"Xor", 9, "xor">,
  I32EnumAttrCase<"Eq", 10, "eq">,
  I32EnumAttrCase<"Lt", 11, "lt">,
  I32EnumAttrCase<"Le", 12, "le">,
  I32EnumAttrCase<"Gt", 13, "gt">,
  I32EnumAttrCase<"Ge", 14, "ge">,
  I32EnumAttrCase<"Mod", 15, "mod">,
  I32EnumAttrCase<"FMod", 16, "fmod">
]>;
def Kiln_BinaryKindAttr : EnumAttr<Kiln_Dialect, Kiln_BinaryKind, "binary_kind">;

def Kiln_ReduceKind : Kiln_I32Enum<"ReduceKind", "reduction combiner", [
  I32EnumAttrCase<"Sum", 0, "sum">,
  I32EnumAttrCase<"Mean", 1, "mean">,
  I32EnumAttrCase<"Max", 2, "max">,
  I32EnumAttrCase<"Min", 3, "min">,
  I32EnumAttrCase<"Prod", 4, "prod">,
  I32EnumAttrCase<"L1", 5, "l1">,
  I32EnumAttrCase<"L2", 6, "l2">,
  I32EnumAttrCase<"SumSquare", 7, "sum_square">,
  I32EnumAttrCase<"LogSum", 8, "log_sum">,
  I32EnumAttrCase<"LogSumExp", 9, "log_sum_exp">
]>;
def Kiln_ReduceKindAttr : EnumAttr<Kiln_Dialect, Kiln_ReduceKind, "reduce_kind">;

def Kiln_ArgKind : Kiln_I32Enum<"ArgKind", "arg reduction", [
  I32EnumAttrCase<"Max", 0, "max">,
  I32EnumAttrCase<"Min", 1, "min">
]>;
def Kiln_ArgKindAttr : EnumAttr<Kiln_Dialect, Kiln_ArgKind, "arg_kind">;

def Kiln_PoolKind : Kiln_I32Enum<"PoolKind", "pooling combiner", [
  I32EnumAttrCase<"Max", 0, "max">,
  I32EnumAttrCase<"Avg", 1, "avg">
]>;
def Kiln_PoolKindAttr : EnumAttr<Kiln_Dialect, Kiln_PoolKind, "pool_kind">;

def Kiln_PadMode : Kiln_I32Enum<"PadMode", "padding mode", [
  I32EnumAttrCase<"Constant", 0, "constant">,
  I32EnumAttrCase<"Reflect", 1, "reflect">,
  I32EnumAttrCase<"Edge", 2, "edge">
]>;
def Kiln_PadModeAttr : EnumAttr<Kiln_Dialect, Kiln_PadMode, "pad_mode">;

def Kiln_KernelKind : Kiln_I32Enum<"KernelKind", "kind of a kernel group", [
  I32EnumAttrCase<"Contraction", 0, "contraction">,
  I32EnumAttrCase<"Reduction", 1, "reduction">,
  I32EnumAttrCase<"Elementwise", 2, "elementwise">,
  I32EnumAttrCase<"DataMovement", 3, "data_movement">,
  I32EnumAttrCase<"Attention", 4, "attention">
]>;
def Kiln_KernelKindAttr : EnumAttr<Kiln_Dialect, Kiln_KernelKind, "kernel_kind">;

def Kiln_ResizeMode : Kiln_I32Enum<"ResizeMode", "resize interpolation", [
  I32EnumAttrCase<"Nearest", 0, "nearest">,
  I32EnumAttrCase<"Linear", 1, "linear">
]>;
def Kiln_ResizeModeAttr : EnumAttr<Kiln_Dialect, Kiln_ResizeMode, "resize_mode">;

def Kiln_CoordMode : Kiln_I32Enum<"CoordMode", "resize coordinate transformation", [
  I32EnumAttrCase<"HalfPixel", 0, "half_pixel">,
  I32EnumAttrCase<"PytorchHalfPixel", 1, "pytorch_half_pixel">,
  I32EnumAttrCase<"AlignCorners", 2, "align_corners">,
  I32EnumAttrCase<"Asymmetric", 3, "asymmetric">
]>;
def Kiln_CoordModeAttr : EnumAttr<Kiln_Dialect, Kiln_CoordMode, "coord_mode">;

def Kiln_NearestMode : Kiln_I32Enum<"NearestMode", "resize nearest rounding", [
  I32EnumAttrCase<"RoundPreferFloor", 0, "round_prefer_floor">,
  I32EnumAttrCase<"RoundPreferCeil", 1, "round_prefer_ceil">,
  I32EnumAttrCase<"Floor", 2, "floor">,
  I32EnumAttrCase<"Ceil", 3, "ceil">
]>;
def Kiln_NearestModeAttr : EnumAttr<Kiln_Dialect, Kiln_NearestMode, "nearest_mode">;

#endif // KILN_BASE_TD
