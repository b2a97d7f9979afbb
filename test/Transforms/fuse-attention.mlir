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
