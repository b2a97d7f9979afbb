// RUN: kiln-opt %s -split-input-file -kiln-fuse-attention -canonicalize | FileCheck %s

// torch's SDPA export (dynamo): sqrt(scale) on Q and on K^T (K^T through a
// [batch * heads] view), a mask from select, probabilities' NaNs zeroed.
// CHECK-LABEL: func.func @sdpa_dynamo
// CHECK-SAME: (%[[Q:.+]]: tensor<2x4x16x8xf32>, %[[K:.+]]: tensor<2x4x16x8xf32>, %[[V:.+]]: tensor<2x4x16x8xf32>, %[[M:.+]]: tensor<2x1x16x16xf32>)
// CHECK-NEXT: %[[A:.+]] = kiln.attention %[[Q]], %[[K]], %[[V]] mask %[[M]] {scale = 0.124999993 : f32, zero_nan_rows}
// CHECK-NEXT: return %[[A]]
func.func @sdpa_dynamo(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %m: tensor<2x1x16x16xf32>) -> tensor<2x4x16x8xf32> {
  %c = kiln.constant dense<0.353553385> : tensor<f32>
  %zero = kiln.constant dense<0.0> : tensor<f32>
  %k3 = kiln.reshape %k : tensor<2x4x16x8xf32> -> tensor<8x16x8xf32>
  %kt3 = kiln.transpose %k3 [0, 2, 1] : tensor<8x16x8xf32> -> tensor<8x8x16xf32>
  %kt = kiln.reshape %kt3 : tensor<8x8x16xf32> -> tensor<2x4x8x16xf32>
  %qs = kiln.binary mul %q, %c : tensor<2x4x16x8xf32>, tensor<f32> -> tensor<2x4x16x8xf32>
  %ks = kiln.binary mul %kt, %c : tensor<2x4x8x16xf32>, tensor<f32> -> tensor<2x4x8x16xf32>
  %s = kiln.matmul %qs, %ks : (tensor<2x4x16x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x16x16xf32>
  %sm = kiln.binary add %s, %m : tensor<2x4x16x16xf32>, tensor<2x1x16x16xf32> -> tensor<2x4x16x16xf32>
  %p = kiln.softmax %sm {axis = 3 : i64} : tensor<2x4x16x16xf32>
  %eq = kiln.binary eq %p, %p : tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32> -> tensor<2x4x16x16xi1>
  %nan = kiln.unary not %eq : tensor<2x4x16x16xi1>
  %pz = kiln.select %nan, %zero, %p : (tensor<2x4x16x16xi1>, tensor<f32>, tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xf32>
  %o = kiln.matmul %pz, %v : (tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32>
  return %o : tensor<2x4x16x8xf32>
}

// -----

// The legacy exporter: K^T as one transpose of the packed projection, the
// scores divided by sqrt(d), a constant causal mask (finite minimum):
// causal_offset, no mask operand.
// CHECK-LABEL: func.func @legacy_causal
// CHECK: %[[Q:.+]] = kiln.transpose %{{.+}} [0, 2, 1, 3]
// CHECK: %[[K:.+]] = kiln.transpose %{{.+}} [0, 2, 1, 3]
// CHECK: kiln.attention %[[Q]], %[[K]], %{{.+}} {causal_offset = 0 : i64, scale = 5.000000e-01 : f32}
// CHECK-NOT: kiln.softmax
func.func @legacy_causal(%x: tensor<1x3x2x4xf32>, %y: tensor<1x3x2x4xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %d = kiln.constant dense<2.0> : tensor<f32>
  %mask = kiln.constant dense<[[[[0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0]]]]> : tensor<1x1x3x3xf32>
  %q = kiln.transpose %x [0, 2, 1, 3] : tensor<1x3x2x4xf32> -> tensor<1x2x3x4xf32>
  %kt = kiln.transpose %y [0, 2, 3, 1] : tensor<1x3x2x4xf32> -> tensor<1x2x4x3xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %sd = kiln.binary div %s, %d : tensor<1x2x3x3xf32>, tensor<f32> -> tensor<1x2x3x3xf32>
  %sm = kiln.binary add %sd, %mask : tensor<1x2x3x3xf32>, tensor<1x1x3x3xf32> -> tensor<1x2x3x3xf32>
  %p = kiln.softmax %sm {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// Grouped-query attention (Llama, Qwen): K and V repeated over query heads
// by reshape, broadcast, reshape; the fused op reads the 2 KV heads.
// CHECK-LABEL: func.func @grouped_query
// CHECK-SAME: (%[[Q:.+]]: tensor<1x4x5x8xf32>, %[[K:.+]]: tensor<1x2x5x8xf32>, %[[V:.+]]: tensor<1x2x5x8xf32>)
// CHECK-NEXT: kiln.attention %[[Q]], %[[K]], %[[V]] {scale = 1.000000e+00 : f32} : (tensor<1x4x5x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>) -> tensor<1x4x5x8xf32>
func.func @grouped_query(%q: tensor<1x4x5x8xf32>, %k: tensor<1x2x5x8xf32>, %v: tensor<1x2x5x8xf32>) -> tensor<1x4x5x8xf32> {
  %k1 = kiln.reshape %k : tensor<1x2x5x8xf32> -> tensor<1x2x1x5x8xf32>
  %k2 = kiln.broadcast %k1 : tensor<1x2x1x5x8xf32> -> tensor<1x2x2x5x8xf32>
  %k3 = kiln.reshape %k2 : tensor<1x2x2x5x8xf32> -> tensor<4x5x8xf32>
  %kt3 = kiln.transpose %k3 [0, 2, 1] : tensor<4x5x8xf32> -> tensor<4x8x5xf32>
  %kt = kiln.reshape %kt3 : tensor<4x8x5xf32> -> tensor<1x4x8x5xf32>
  %v1 = kiln.reshape %v : tensor<1x2x5x8xf32> -> tensor<1x2x1x5x8xf32>
  %v2 = kiln.broadcast %v1 : tensor<1x2x1x5x8xf32> -> tensor<1x2x2x5x8xf32>
  %vr = kiln.reshape %v2 : tensor<1x2x2x5x8xf32> -> tensor<1x4x5x8xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x4x5x8xf32>, tensor<1x4x8x5xf32>) -> tensor<1x4x5x5xf32>
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<1x4x5x5xf32>
  %o = kiln.matmul %p, %vr : (tensor<1x4x5x5xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x5x8xf32>
  return %o : tensor<1x4x5x8xf32>
}

// -----

// 3-D products over [batch * heads]: lifted to 4-D and back.
// CHECK-LABEL: func.func @three_d
// CHECK: %[[A:.+]] = kiln.attention %{{.+}}, %{{.+}}, %{{.+}} {scale = 2.500000e-01 : f32} : (tensor<1x6x7x16xf32>, tensor<1x6x9x16xf32>, tensor<1x6x9x16xf32>) -> tensor<1x6x7x16xf32>
// CHECK: kiln.reshape %[[A]] : tensor<1x6x7x16xf32> -> tensor<6x7x16xf32>
func.func @three_d(%q: tensor<6x7x16xf32>, %k: tensor<6x9x16xf32>, %v: tensor<6x9x16xf32>) -> tensor<6x7x16xf32> {
  %c = kiln.constant dense<0.25> : tensor<f32>
  %kt = kiln.transpose %k [0, 2, 1] : tensor<6x9x16xf32> -> tensor<6x16x9xf32>
  %s = kiln.matmul %q, %kt : (tensor<6x7x16xf32>, tensor<6x16x9xf32>) -> tensor<6x7x9xf32>
  %ss = kiln.binary mul %c, %s : tensor<f32>, tensor<6x7x9xf32> -> tensor<6x7x9xf32>
  %p = kiln.softmax %ss {axis = 2 : i64} : tensor<6x7x9xf32>
  %o = kiln.matmul %p, %v : (tensor<6x7x9xf32>, tensor<6x9x16xf32>) -> tensor<6x7x16xf32>
  return %o : tensor<6x7x16xf32>
}

// -----

// Near misses stay unfused: the probabilities are also a result
// (output_attentions), and a softmax over another axis.
// CHECK-LABEL: func.func @probabilities_used
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
// CHECK-LABEL: func.func @other_axis
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @probabilities_used(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>) {
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o, %p : tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>
}
func.func @other_axis(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %p = kiln.softmax %s {axis = 2 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// ONNX Attention's import of is_causal with a key padding mask: the causal
// bias is select(le(key positions, query positions), 0, -inf) added to the
// padding bias; the causal part becomes causal_offset (1 here: the
// positions differ by one, a cache of one token), the padding bias stays
// the mask, and the masked-row guard (the bias row's max against -inf)
// becomes zero_nan_rows.
// CHECK-LABEL: func.func @onnx_causal_padding
// CHECK-SAME: %[[PAD:[^:]+]]: tensor<1x1x1x4xf32>
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} mask %[[PAD]] {causal_offset = 1 : i64, scale = 0.49999997 : f32, zero_nan_rows}
// CHECK-NOT: kiln.softmax
func.func @onnx_causal_padding(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x4x4xf32>, %v: tensor<1x2x4x4xf32>, %pad: tensor<1x1x1x4xf32>) -> tensor<1x2x3x4xf32> {
  %keys = kiln.constant dense<[[0, 1, 2, 3]]> : tensor<1x4xi64>
  %queries = kiln.constant dense<[[1], [2], [3]]> : tensor<3x1xi64>
  %zero = kiln.constant dense<0.0> : tensor<f32>
  %ninf = kiln.constant dense<0xFF800000> : tensor<f32>
  %root = kiln.constant dense<0.707106769> : tensor<f32>
  %visible = kiln.binary le %keys, %queries : tensor<1x4xi64>, tensor<3x1xi64> -> tensor<3x4xi1>
  %causal = kiln.select %visible, %zero, %ninf : (tensor<3x4xi1>, tensor<f32>, tensor<f32>) -> tensor<3x4xf32>
  %bias = kiln.binary add %pad, %causal : tensor<1x1x1x4xf32>, tensor<3x4xf32> -> tensor<1x1x3x4xf32>
  %qs = kiln.binary mul %q, %root : tensor<1x2x3x4xf32>, tensor<f32> -> tensor<1x2x3x4xf32>
  %ks = kiln.binary mul %k, %root : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %kt = kiln.transpose %ks [0, 1, 3, 2] : tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  %s = kiln.matmul %qs, %kt : (tensor<1x2x3x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x3x4xf32>
  %sb = kiln.binary add %s, %bias : tensor<1x2x3x4xf32>, tensor<1x1x3x4xf32> -> tensor<1x2x3x4xf32>
  %p = kiln.softmax %sb {axis = 3 : i64} : tensor<1x2x3x4xf32>
  %rowmax = kiln.reduce max %bias {axes = array<i64: 3>, keep_dims} : tensor<1x1x3x4xf32> -> tensor<1x1x3x1xf32>
  %dead = kiln.binary eq %rowmax, %ninf : tensor<1x1x3x1xf32>, tensor<f32> -> tensor<1x1x3x1xi1>
  %pz = kiln.select %dead, %zero, %p : (tensor<1x1x3x1xi1>, tensor<f32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  %o = kiln.matmul %pz, %v : (tensor<1x2x3x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// A constant causal condition and-ed with a padding condition, the bias
// -inf: split into causal_offset and a mask from the padding condition
// alone. With a finite minimum (Hugging Face's) the split would change rows
// that see no key, so the combined mask stays.
// CHECK-LABEL: func.func @and_split
// CHECK-SAME: %[[PADC:[^:]+]]: tensor<2x1x1x3xi1>
// CHECK: %[[M:.+]] = kiln.select %[[PADC]], %{{.+}}, %{{.+}} : (tensor<2x1x1x3xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x1x3xf32>
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} mask %[[M]] {causal_offset = 0 : i64, scale = 1.000000e+00 : f32}
// CHECK-LABEL: func.func @and_finite
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} mask %{{.+}} {scale = 1.000000e+00 : f32} : ({{.+}}, tensor<2x1x3x3xf32>)
func.func @and_split(%q: tensor<2x2x3x4xf32>, %kt: tensor<2x2x4x3xf32>, %v: tensor<2x2x3x4xf32>, %padc: tensor<2x1x1x3xi1>) -> tensor<2x2x3x4xf32> {
  %tri = kiln.constant dense<[[[[true, false, false], [true, true, false], [true, true, true]]]]> : tensor<1x1x3x3xi1>
  %zero = kiln.constant dense<0.0> : tensor<f32>
  %ninf = kiln.constant dense<0xFF800000> : tensor<f32>
  %both = kiln.binary and %tri, %padc : tensor<1x1x3x3xi1>, tensor<2x1x1x3xi1> -> tensor<2x1x3x3xi1>
  %mask = kiln.select %both, %zero, %ninf : (tensor<2x1x3x3xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x3x3xf32>
  %s = kiln.matmul %q, %kt : (tensor<2x2x3x4xf32>, tensor<2x2x4x3xf32>) -> tensor<2x2x3x3xf32>
  %sm = kiln.binary add %s, %mask : tensor<2x2x3x3xf32>, tensor<2x1x3x3xf32> -> tensor<2x2x3x3xf32>
  %p = kiln.softmax %sm {axis = 3 : i64} : tensor<2x2x3x3xf32>
  %o = kiln.matmul %p, %v : (tensor<2x2x3x3xf32>, tensor<2x2x3x4xf32>) -> tensor<2x2x3x4xf32>
  return %o : tensor<2x2x3x4xf32>
}
func.func @and_finite(%q: tensor<2x2x3x4xf32>, %kt: tensor<2x2x4x3xf32>, %v: tensor<2x2x3x4xf32>, %padc: tensor<2x1x1x3xi1>) -> tensor<2x2x3x4xf32> {
  %tri = kiln.constant dense<[[[[true, false, false], [true, true, false], [true, true, true]]]]> : tensor<1x1x3x3xi1>
  %zero = kiln.constant dense<0.0> : tensor<f32>
  %min = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %both = kiln.binary and %tri, %padc : tensor<1x1x3x3xi1>, tensor<2x1x1x3xi1> -> tensor<2x1x3x3xi1>
  %mask = kiln.select %both, %zero, %min : (tensor<2x1x3x3xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x3x3xf32>
  %s = kiln.matmul %q, %kt : (tensor<2x2x3x4xf32>, tensor<2x2x4x3xf32>) -> tensor<2x2x3x3xf32>
  %sm = kiln.binary add %s, %mask : tensor<2x2x3x3xf32>, tensor<2x1x3x3xf32> -> tensor<2x2x3x3xf32>
  %p = kiln.softmax %sm {axis = 3 : i64} : tensor<2x2x3x3xf32>
  %o = kiln.matmul %p, %v : (tensor<2x2x3x3xf32>, tensor<2x2x3x4xf32>) -> tensor<2x2x3x4xf32>
  return %o : tensor<2x2x3x4xf32>
}

// -----

// Windowed vision transformers (MaxViT, Swin): the products on a
// [batch * windows * heads, S, S] view, the softmax (and the relative
// position bias) on [batch, windows, heads, S, S]; the fused op works on
// [batch * windows, heads, S, D] with the bias as [1, heads, S, S].
// CHECK-LABEL: func.func @windows
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} mask %arg3 {scale = 1.000000e+00 : f32} : (tensor<3x2x4x8xf32>, tensor<3x2x4x8xf32>, tensor<3x2x4x8xf32>, tensor<1x2x4x4xf32>) -> tensor<3x2x4x8xf32>
// CHECK-NOT: kiln.softmax
func.func @windows(%q: tensor<6x4x8xf32>, %kt: tensor<6x8x4xf32>, %v: tensor<6x4x8xf32>, %bias: tensor<1x2x4x4xf32>) -> tensor<6x4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<6x4x8xf32>, tensor<6x8x4xf32>) -> tensor<6x4x4xf32>
  %s5 = kiln.reshape %s : tensor<6x4x4xf32> -> tensor<1x3x2x4x4xf32>
  %sb = kiln.binary add %s5, %bias : tensor<1x3x2x4x4xf32>, tensor<1x2x4x4xf32> -> tensor<1x3x2x4x4xf32>
  %p = kiln.softmax %sb {axis = 4 : i64} : tensor<1x3x2x4x4xf32>
  %p3 = kiln.reshape %p : tensor<1x3x2x4x4xf32> -> tensor<6x4x4xf32>
  %o = kiln.matmul %p3, %v : (tensor<6x4x4xf32>, tensor<6x4x8xf32>) -> tensor<6x4x8xf32>
  return %o : tensor<6x4x8xf32>
}

// -----

// Swin's shifted windows: a relative-position bias added on [windows,
// heads, S, S], then a window mask on [batch, windows, heads, S, S]; the
// fused op takes their sum as one [windows, heads, S, S] mask.
// CHECK-LABEL: func.func @shifted_windows
// CHECK: %[[SUM:.+]] = kiln.binary add %arg4, %arg3 : tensor<3x1x4x4xf32>, tensor<1x2x4x4xf32> -> tensor<3x2x4x4xf32>
// CHECK: kiln.attention %arg0, %{{.+}}, %arg2 mask %[[SUM]]
// CHECK-NOT: kiln.softmax
func.func @shifted_windows(%q: tensor<3x2x4x8xf32>, %kt: tensor<3x2x8x4xf32>, %v: tensor<3x2x4x8xf32>, %bias: tensor<1x2x4x4xf32>, %wmask: tensor<3x1x4x4xf32>) -> tensor<3x2x4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<3x2x4x8xf32>, tensor<3x2x8x4xf32>) -> tensor<3x2x4x4xf32>
  %sb = kiln.binary add %s, %bias : tensor<3x2x4x4xf32>, tensor<1x2x4x4xf32> -> tensor<3x2x4x4xf32>
  %s5 = kiln.reshape %sb : tensor<3x2x4x4xf32> -> tensor<1x3x2x4x4xf32>
  %w5 = kiln.reshape %wmask : tensor<3x1x4x4xf32> -> tensor<1x3x1x4x4xf32>
  %sm = kiln.binary add %s5, %w5 : tensor<1x3x2x4x4xf32>, tensor<1x3x1x4x4xf32> -> tensor<1x3x2x4x4xf32>
  %s4 = kiln.reshape %sm : tensor<1x3x2x4x4xf32> -> tensor<3x2x4x4xf32>
  %p = kiln.softmax %s4 {axis = 3 : i64} : tensor<3x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<3x2x4x4xf32>, tensor<3x2x4x8xf32>) -> tensor<3x2x4x8xf32>
  return %o : tensor<3x2x4x8xf32>
}
