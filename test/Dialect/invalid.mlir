// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// One case per diagnostic of the kiln verifiers and type inference functions
// (lib/Dialect/Kiln/KilnOps.cpp), plus a few from the ODS type constraints and
// the generic "inferred type(s) ... are incompatible" check.

//===----------------------------------------------------------------------===//
// kiln.unary
//===----------------------------------------------------------------------===//

func.func @unary_not_on_float(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.unary' op 'not' expects an i1 operand, got 'f32'}}
  %0 = kiln.unary not %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @unary_not_on_i8(%x: tensor<4xi8>) -> tensor<4xi8> {
  // expected-error @+1 {{'kiln.unary' op 'not' expects an i1 operand, got 'i8'}}
  %0 = kiln.unary not %x : tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

func.func @unary_neg_on_i1(%x: tensor<4xi1>) -> tensor<4xi1> {
  // expected-error @+1 {{'kiln.unary' op 'neg' does not apply to i1 operands}}
  %0 = kiln.unary neg %x : tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

func.func @unary_exp_on_int(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{'kiln.unary' op 'exp' expects a floating-point operand, got 'i32'}}
  %0 = kiln.unary exp %x : tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

func.func @unary_sqrt_on_int(%x: tensor<2x2xi64>) -> tensor<2x2xi64> {
  // expected-error @+1 {{'kiln.unary' op 'sqrt' expects a floating-point operand, got 'i64'}}
  %0 = kiln.unary sqrt %x : tensor<2x2xi64>
  return %0 : tensor<2x2xi64>
}

// -----

func.func @unary_leaky_relu_without_alpha(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.unary' op 'leaky_relu' requires an 'alpha' attribute}}
  %0 = kiln.unary leaky_relu %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @unary_relu_with_alpha(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.unary' op 'relu' does not take an 'alpha' attribute}}
  %0 = kiln.unary relu %x {alpha = 1.000000e-01 : f32} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @unary_hard_sigmoid_without_beta(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.unary' op 'hard_sigmoid' requires a 'beta' attribute}}
  %0 = kiln.unary hard_sigmoid %x {alpha = 2.000000e-01 : f32} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @unary_selu_without_alpha(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.unary' op 'selu' requires an 'alpha' attribute}}
  %0 = kiln.unary selu %x {beta = 1.050000e+00 : f32} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @unary_elu_with_beta(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.unary' op 'elu' does not take a 'beta' attribute}}
  %0 = kiln.unary elu %x {alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @unary_alpha_not_f32(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.unary' op attribute 'alpha' failed to satisfy constraint: 32-bit float attribute}}
  %0 = kiln.unary leaky_relu %x {alpha = 1.000000e-01 : f64} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.binary
//===----------------------------------------------------------------------===//

func.func @binary_not_broadcastable(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'kiln.binary' op operand shapes 2x3 and 4 are not broadcast-compatible}}
  // expected-error @+1 {{'kiln.binary' op failed to infer returned types}}
  %0 = kiln.binary add %a, %b : tensor<2x3xf32>, tensor<4xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @binary_wrong_result_shape(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{'kiln.binary' op inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<3x2xf32>'}}
  // expected-error @+1 {{'kiln.binary' op failed to infer returned types}}
  %0 = kiln.binary add %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Comparisons yield i1, not the operand element type.
func.func @binary_comparison_result_not_i1(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{'kiln.binary' op inferred type(s) 'tensor<4xi1>' are incompatible with return type(s) of operation 'tensor<4xf32>'}}
  // expected-error @+1 {{'kiln.binary' op failed to infer returned types}}
  %0 = kiln.binary lt %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @binary_element_type_mismatch(%a: tensor<4xf32>, %b: tensor<4xf16>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.binary' op operand element types differ: 'f32' vs 'f16'}}
  %0 = kiln.binary mul %a, %b : tensor<4xf32>, tensor<4xf16> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @binary_and_on_float(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.binary' op 'and' expects integer operands, got 'f32'}}
  %0 = kiln.binary and %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @binary_xor_on_float(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.binary' op 'xor' expects integer operands, got 'f32'}}
  %0 = kiln.binary xor %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @binary_add_on_i1(%a: tensor<4xi1>, %b: tensor<4xi1>) -> tensor<4xi1> {
  // expected-error @+1 {{'kiln.binary' op 'add' does not apply to i1 operands}}
  %0 = kiln.binary add %a, %b : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// eq is the only comparison that takes i1.
func.func @binary_lt_on_i1(%a: tensor<4xi1>, %b: tensor<4xi1>) -> tensor<4xi1> {
  // expected-error @+1 {{'kiln.binary' op 'lt' does not apply to i1 operands}}
  %0 = kiln.binary lt %a, %b : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.select
//===----------------------------------------------------------------------===//

func.func @select_condition_true_incompatible(%c: tensor<3xi1>, %a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{'kiln.select' op condition shape 3 and true-value shape 4 are not broadcast-compatible}}
  // expected-error @+1 {{'kiln.select' op failed to infer returned types}}
  %0 = kiln.select %c, %a, %b : (tensor<3xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @select_false_incompatible(%c: tensor<2x1xi1>, %a: tensor<3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'kiln.select' op false-value shape 4 does not broadcast with 2x3}}
  // expected-error @+1 {{'kiln.select' op failed to infer returned types}}
  %0 = kiln.select %c, %a, %b : (tensor<2x1xi1>, tensor<3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @select_element_type_mismatch(%c: tensor<4xi1>, %a: tensor<4xf32>, %b: tensor<4xf16>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.select' op true and false values have different element types: 'f32' vs 'f16'}}
  %0 = kiln.select %c, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<4xf16>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @select_condition_not_i1(%c: tensor<4xi8>, %a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.select' op operand #0 must be ranked tensor of 1-bit signless integer values, but got 'tensor<4xi8>'}}
  %0 = kiln.select %c, %a, %b : (tensor<4xi8>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// The result is the broadcast of all three operands.
func.func @select_wrong_result_shape(%c: tensor<2x1xi1>, %a: tensor<3xf32>, %b: tensor<f32>) -> tensor<3xf32> {
  // expected-error @+2 {{'kiln.select' op inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<3xf32>'}}
  // expected-error @+1 {{'kiln.select' op failed to infer returned types}}
  %0 = kiln.select %c, %a, %b : (tensor<2x1xi1>, tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.cast
//===----------------------------------------------------------------------===//

func.func @cast_shape_change(%x: tensor<2x3xi64>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'kiln.cast' op result shape 3x2 differs from input shape 2x3}}
  %0 = kiln.cast %x : tensor<2x3xi64> to tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @cast_rank_change(%x: tensor<1xi64>) -> tensor<f32> {
  // expected-error @+1 {{'kiln.cast' op result shape scalar differs from input shape 1}}
  %0 = kiln.cast %x : tensor<1xi64> to tensor<f32>
  return %0 : tensor<f32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.matmul
//===----------------------------------------------------------------------===//

func.func @matmul_rank0(%a: tensor<f32>, %b: tensor<4x5xf32>) -> tensor<5xf32> {
  // expected-error @+2 {{'kiln.matmul' op operands must have rank >= 1, got 0 and 2}}
  // expected-error @+1 {{'kiln.matmul' op failed to infer returned types}}
  %0 = kiln.matmul %a, %b : (tensor<f32>, tensor<4x5xf32>) -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

func.func @matmul_contraction_mismatch(%a: tensor<3x4xf32>, %b: tensor<5x6xf32>) -> tensor<3x6xf32> {
  // expected-error @+2 {{'kiln.matmul' op contraction sizes differ: lhs 3x4 has 4, rhs 5x6 has 5}}
  // expected-error @+1 {{'kiln.matmul' op failed to infer returned types}}
  %0 = kiln.matmul %a, %b : (tensor<3x4xf32>, tensor<5x6xf32>) -> tensor<3x6xf32>
  return %0 : tensor<3x6xf32>
}

// -----

// A 1-D rhs is a column: its only dimension is contracted.
func.func @matmul_contraction_mismatch_vector(%a: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+2 {{'kiln.matmul' op contraction sizes differ: lhs 3x4 has 4, rhs 3 has 3}}
  // expected-error @+1 {{'kiln.matmul' op failed to infer returned types}}
  %0 = kiln.matmul %a, %b : (tensor<3x4xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @matmul_batch_mismatch(%a: tensor<2x3x4xf32>, %b: tensor<3x4x5xf32>) -> tensor<2x3x5xf32> {
  // expected-error @+2 {{'kiln.matmul' op batch dimensions of 2x3x4 and 3x4x5 are not broadcast-compatible}}
  // expected-error @+1 {{'kiln.matmul' op failed to infer returned types}}
  %0 = kiln.matmul %a, %b : (tensor<2x3x4xf32>, tensor<3x4x5xf32>) -> tensor<2x3x5xf32>
  return %0 : tensor<2x3x5xf32>
}

// -----

func.func @matmul_element_type_mismatch(%a: tensor<3x4xf32>, %b: tensor<4x5xf16>) -> tensor<3x5xf32> {
  // expected-error @+1 {{'kiln.matmul' op operand element types differ: 'f32' vs 'f16'}}
  %0 = kiln.matmul %a, %b : (tensor<3x4xf32>, tensor<4x5xf16>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

// A vector lhs drops the promoted row dimension from the result.
func.func @matmul_wrong_result(%a: tensor<4xf32>, %b: tensor<4x5xf32>) -> tensor<1x5xf32> {
  // expected-error @+2 {{'kiln.matmul' op inferred type(s) 'tensor<5xf32>' are incompatible with return type(s) of operation 'tensor<1x5xf32>'}}
  // expected-error @+1 {{'kiln.matmul' op failed to infer returned types}}
  %0 = kiln.matmul %a, %b : (tensor<4xf32>, tensor<4x5xf32>) -> tensor<1x5xf32>
  return %0 : tensor<1x5xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.conv
//===----------------------------------------------------------------------===//

func.func @conv_input_rank(%x: tensor<3x8xf32>, %w: tensor<8x3xf32>) -> tensor<3x8xf32> {
  // expected-error @+2 {{'kiln.conv' op input must have rank >= 3 (N, C, spatial...), got 3x8}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64>, group = 1 : i64, pads = array<i64>, strides = array<i64>} : (tensor<3x8xf32>, tensor<8x3xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

func.func @conv_weight_rank(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{'kiln.conv' op weight rank 3 differs from input rank 4}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<8x3x3xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

func.func @conv_strides_count(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{'kiln.conv' op expects 2 strides, got 1}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1>} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

func.func @conv_dilations_count(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{'kiln.conv' op expects 2 dilations, got 3}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

// pads lists the begin paddings then the end paddings: 2 per spatial dim.
func.func @conv_pads_count(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32> {
  // expected-error @+2 {{'kiln.conv' op expects 4 pads (begin then end per spatial dim), got 2}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  return %0 : tensor<1x8x8x8xf32>
}

// -----

func.func @conv_zero_stride(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{'kiln.conv' op stride 1 must be positive, got 0}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 0>} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

func.func @conv_negative_dilation(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{'kiln.conv' op dilation 0 must be positive, got -1}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: -1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

func.func @conv_negative_pad(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{'kiln.conv' op pads must be non-negative, got -1}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 1, 0, -1>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

func.func @conv_group_not_dividing(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{'kiln.conv' op group 2 must divide input channels 3 and output channels 8}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

// The group must divide the output channels too: 4 | 4 but not 4 | 6.
func.func @conv_group_not_dividing_outputs(%x: tensor<1x4x8x8xf32>, %w: tensor<6x1x3x3xf32>) -> tensor<1x6x6x6xf32> {
  // expected-error @+2 {{'kiln.conv' op group 4 must divide input channels 4 and output channels 6}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 4 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>, tensor<6x1x3x3xf32>) -> tensor<1x6x6x6xf32>
  return %0 : tensor<1x6x6x6xf32>
}

// -----

func.func @conv_group_zero(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{'kiln.conv' op group 0 must divide input channels 3 and output channels 8}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 0 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

func.func @conv_channel_mismatch(%x: tensor<1x4x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{'kiln.conv' op weight 8x3x3x3 expects 3 input channels, input 1x4x8x8 has 4}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

// With 2 groups, a weight with 4 channels per group needs 8 input channels.
func.func @conv_grouped_channel_mismatch(%x: tensor<1x4x8x8xf32>, %w: tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{'kiln.conv' op weight 8x4x3x3 expects 8 input channels, input 1x4x8x8 has 4}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

func.func @conv_bias_size(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{'kiln.conv' op bias must be 1-D of size 8 (output channels), got 4}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<4xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

func.func @conv_bias_rank(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>, %b: tensor<1x8xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{'kiln.conv' op bias must be 1-D of size 8 (output channels), got 1x8}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<1x8xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

func.func @conv_kernel_too_big(%x: tensor<1x3x4x4xf32>, %w: tensor<8x3x5x5xf32>) -> tensor<1x8x1x1xf32> {
  // expected-error @+2 {{'kiln.conv' op kernel 8x3x5x5 does not fit padded input 1x3x4x4 along spatial dim 0}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x4x4xf32>, tensor<8x3x5x5xf32>) -> tensor<1x8x1x1xf32>
  return %0 : tensor<1x8x1x1xf32>
}

// -----

// Dilation 2 widens the 3-wide kernel of spatial dim 1 to 5 > 4.
func.func @conv_dilated_kernel_too_big(%x: tensor<1x3x8x4xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x6x1xf32> {
  // expected-error @+2 {{'kiln.conv' op kernel 8x3x3x3 does not fit padded input 1x3x8x4 along spatial dim 1}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 2>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x4xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x1xf32>
  return %0 : tensor<1x8x6x1xf32>
}

// -----

func.func @conv_element_type_mismatch(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf16>) -> tensor<1x8x6x6xf32> {
  // expected-error @+1 {{'kiln.conv' op weight element type 'f16' differs from the input's 'f32'}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf16>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

// (8 + 1 + 1 - 3) / 2 + 1 = 4, not 8.
func.func @conv_wrong_result(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32> {
  // expected-error @+2 {{'kiln.conv' op inferred type(s) 'tensor<1x8x4x4xf32>' are incompatible with return type(s) of operation 'tensor<1x8x8x8xf32>'}}
  // expected-error @+1 {{'kiln.conv' op failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  return %0 : tensor<1x8x8x8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.conv_transpose
//===----------------------------------------------------------------------===//

func.func @conv_transpose_input_rank(%x: tensor<8x4xf32>, %w: tensor<8x4xf32>) -> tensor<8x4xf32> {
  // expected-error @+2 {{'kiln.conv_transpose' op input must have rank >= 3 (N, C, spatial...), got 8x4}}
  // expected-error @+1 {{'kiln.conv_transpose' op failed to infer returned types}}
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64>, group = 1 : i64, output_padding = array<i64>, pads = array<i64>, strides = array<i64>} : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

func.func @conv_transpose_weight_rank(%x: tensor<1x8x4x4xf32>, %w: tensor<8x4x2x2x2xf32>) -> tensor<1x4x8x8xf32> {
  // expected-error @+2 {{'kiln.conv_transpose' op weight rank 5 differs from input rank 4}}
  // expected-error @+1 {{'kiln.conv_transpose' op failed to infer returned types}}
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x4x4xf32>, tensor<8x4x2x2x2xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// -----

func.func @conv_transpose_strides_count(%x: tensor<1x8x4x4xf32>, %w: tensor<8x4x2x2xf32>) -> tensor<1x4x8x8xf32> {
  // expected-error @+2 {{'kiln.conv_transpose' op expects 2 strides, got 3}}
  // expected-error @+1 {{'kiln.conv_transpose' op failed to infer returned types}}
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2, 2>} : (tensor<1x8x4x4xf32>, tensor<8x4x2x2xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// -----

func.func @conv_transpose_negative_pad(%x: tensor<1x8x4x4xf32>, %w: tensor<8x4x2x2xf32>) -> tensor<1x4x8x8xf32> {
  // expected-error @+2 {{'kiln.conv_transpose' op pads must be non-negative, got -2}}
  // expected-error @+1 {{'kiln.conv_transpose' op failed to infer returned types}}
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: -2, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x4x4xf32>, tensor<8x4x2x2xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// -----

func.func @conv_transpose_output_padding_count(%x: tensor<1x8x4x4xf32>, %w: tensor<8x4x2x2xf32>) -> tensor<1x4x8x8xf32> {
  // expected-error @+2 {{'kiln.conv_transpose' op expects 2 output_padding values, got 1}}
  // expected-error @+1 {{'kiln.conv_transpose' op failed to infer returned types}}
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x4x4xf32>, tensor<8x4x2x2xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// -----

func.func @conv_transpose_group_not_dividing(%x: tensor<1x8x4x4xf32>, %w: tensor<8x4x2x2xf32>) -> tensor<1x12x8x8xf32> {
  // expected-error @+2 {{'kiln.conv_transpose' op group 3 must divide input channels 8}}
  // expected-error @+1 {{'kiln.conv_transpose' op failed to infer returned types}}
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 3 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x4x4xf32>, tensor<8x4x2x2xf32>) -> tensor<1x12x8x8xf32>
  return %0 : tensor<1x12x8x8xf32>
}

// -----

// The weight layout is C x M/group x K...: its first dim must be the input channels.
func.func @conv_transpose_weight_channels(%x: tensor<1x8x4x4xf32>, %w: tensor<4x8x2x2xf32>) -> tensor<1x8x8x8xf32> {
  // expected-error @+2 {{'kiln.conv_transpose' op weight 4x8x2x2 must have input channels 8 as its first dimension}}
  // expected-error @+1 {{'kiln.conv_transpose' op failed to infer returned types}}
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x4x4xf32>, tensor<4x8x2x2xf32>) -> tensor<1x8x8x8xf32>
  return %0 : tensor<1x8x8x8xf32>
}

// -----

// Output channels are weight dim 1 times group = 4 * 2 = 8, not 4.
func.func @conv_transpose_bias_size(%x: tensor<1x8x4x4xf32>, %w: tensor<8x4x2x2xf32>, %b: tensor<4xf32>) -> tensor<1x8x8x8xf32> {
  // expected-error @+2 {{'kiln.conv_transpose' op bias must be 1-D of size 8 (output channels), got 4}}
  // expected-error @+1 {{'kiln.conv_transpose' op failed to infer returned types}}
  %0 = kiln.conv_transpose %x, %w, %b {dilations = array<i64: 1, 1>, group = 2 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x4x4xf32>, tensor<8x4x2x2xf32>, tensor<4xf32>) -> tensor<1x8x8x8xf32>
  return %0 : tensor<1x8x8x8xf32>
}

// -----

// 1 * (1 - 1) + 0 + (1 - 1) * 1 + 1 - 1 - 0 = 0.
func.func @conv_transpose_empty_output(%x: tensor<1x8x1x1xf32>, %w: tensor<8x4x1x1xf32>) -> tensor<1x4x1x1xf32> {
  // expected-error @+2 {{'kiln.conv_transpose' op output size along spatial dim 0 would be 0}}
  // expected-error @+1 {{'kiln.conv_transpose' op failed to infer returned types}}
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 1, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x8x1x1xf32>, tensor<8x4x1x1xf32>) -> tensor<1x4x1x1xf32>
  return %0 : tensor<1x4x1x1xf32>
}

// -----

func.func @conv_transpose_element_type_mismatch(%x: tensor<1x8x4x4xf16>, %w: tensor<8x4x2x2xf32>) -> tensor<1x4x8x8xf16> {
  // expected-error @+1 {{'kiln.conv_transpose' op weight element type 'f32' differs from the input's 'f16'}}
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x4x4xf16>, tensor<8x4x2x2xf32>) -> tensor<1x4x8x8xf16>
  return %0 : tensor<1x4x8x8xf16>
}

// -----

// 2 * (4 - 1) + 0 + (2 - 1) * 1 + 1 = 8 with stride 2, not 4.
func.func @conv_transpose_wrong_result(%x: tensor<1x8x4x4xf32>, %w: tensor<8x4x2x2xf32>) -> tensor<1x4x4x4xf32> {
  // expected-error @+2 {{'kiln.conv_transpose' op inferred type(s) 'tensor<1x4x8x8xf32>' are incompatible with return type(s) of operation 'tensor<1x4x4x4xf32>'}}
  // expected-error @+1 {{'kiln.conv_transpose' op failed to infer returned types}}
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x4x4xf32>, tensor<8x4x2x2xf32>) -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.batch_norm, kiln.layer_norm, kiln.instance_norm, kiln.softmax
//===----------------------------------------------------------------------===//

func.func @batch_norm_rank(%x: tensor<16xf32>, %p: tensor<16xf32>) -> tensor<16xf32> {
  // expected-error @+1 {{'kiln.batch_norm' op input must have rank >= 2 (N, C, ...), got 16}}
  %0 = kiln.batch_norm %x, %p, %p, %p, %p {epsilon = 9.99999974E-6 : f32} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  return %0 : tensor<16xf32>
}

// -----

func.func @batch_norm_scale_size(%x: tensor<1x16x8x8xf32>, %s: tensor<8xf32>, %p: tensor<16xf32>) -> tensor<1x16x8x8xf32> {
  // expected-error @+1 {{'kiln.batch_norm' op scale must be 1-D of size 16 (channels), got 8}}
  %0 = kiln.batch_norm %x, %s, %p, %p, %p {epsilon = 9.99999974E-6 : f32} : (tensor<1x16x8x8xf32>, tensor<8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  return %0 : tensor<1x16x8x8xf32>
}

// -----

func.func @batch_norm_bias_rank(%x: tensor<1x16x8x8xf32>, %b: tensor<1x16xf32>, %p: tensor<16xf32>) -> tensor<1x16x8x8xf32> {
  // expected-error @+1 {{'kiln.batch_norm' op bias must be 1-D of size 16 (channels), got 1x16}}
  %0 = kiln.batch_norm %x, %p, %b, %p, %p {epsilon = 9.99999974E-6 : f32} : (tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<1x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  return %0 : tensor<1x16x8x8xf32>
}

// -----

func.func @batch_norm_mean_size(%x: tensor<1x16x8x8xf32>, %m: tensor<1xf32>, %p: tensor<16xf32>) -> tensor<1x16x8x8xf32> {
  // expected-error @+1 {{'kiln.batch_norm' op mean must be 1-D of size 16 (channels), got 1}}
  %0 = kiln.batch_norm %x, %p, %p, %m, %p {epsilon = 9.99999974E-6 : f32} : (tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<1xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  return %0 : tensor<1x16x8x8xf32>
}

// -----

func.func @batch_norm_variance_scalar(%x: tensor<1x16x8x8xf32>, %v: tensor<f32>, %p: tensor<16xf32>) -> tensor<1x16x8x8xf32> {
  // expected-error @+1 {{'kiln.batch_norm' op variance must be 1-D of size 16 (channels), got scalar}}
  %0 = kiln.batch_norm %x, %p, %p, %p, %v {epsilon = 9.99999974E-6 : f32} : (tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>) -> tensor<1x16x8x8xf32>
  return %0 : tensor<1x16x8x8xf32>
}

// -----

func.func @batch_norm_int_input(%x: tensor<1x16x8x8xi32>, %p: tensor<16xf32>) -> tensor<1x16x8x8xi32> {
  // expected-error @+1 {{'kiln.batch_norm' op operand #0 must be ranked tensor of floating-point values, but got 'tensor<1x16x8x8xi32>'}}
  %0 = kiln.batch_norm %x, %p, %p, %p, %p {epsilon = 9.99999974E-6 : f32} : (tensor<1x16x8x8xi32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x8x8xi32>
  return %0 : tensor<1x16x8x8xi32>
}

// -----

func.func @layer_norm_axis_too_big(%x: tensor<1x128x768xf32>, %g: tensor<768xf32>) -> tensor<1x128x768xf32> {
  // expected-error @+1 {{'kiln.layer_norm' op axis 3 out of range for rank 3}}
  %0 = kiln.layer_norm %x, %g {axis = 3 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<1x128x768xf32>, tensor<768xf32>) -> tensor<1x128x768xf32>
  return %0 : tensor<1x128x768xf32>
}

// -----

// Negative axes are resolved by the importer.
func.func @layer_norm_axis_negative(%x: tensor<1x128x768xf32>, %g: tensor<768xf32>) -> tensor<1x128x768xf32> {
  // expected-error @+1 {{'kiln.layer_norm' op axis -1 out of range for rank 3}}
  %0 = kiln.layer_norm %x, %g {axis = -1 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<1x128x768xf32>, tensor<768xf32>) -> tensor<1x128x768xf32>
  return %0 : tensor<1x128x768xf32>
}

// -----

func.func @layer_norm_scale_shape(%x: tensor<1x128x768xf32>, %g: tensor<128xf32>) -> tensor<1x128x768xf32> {
  // expected-error @+1 {{'kiln.layer_norm' op scale shape 128 does not broadcast to normalized shape 768}}
  %0 = kiln.layer_norm %x, %g {axis = 2 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<1x128x768xf32>, tensor<128xf32>) -> tensor<1x128x768xf32>
  return %0 : tensor<1x128x768xf32>
}

// -----

// The scale may not have more dimensions than are normalized (axis 1: 128x768).
func.func @layer_norm_scale_rank(%x: tensor<1x128x768xf32>, %g: tensor<1x128x768xf32>) -> tensor<1x128x768xf32> {
  // expected-error @+1 {{'kiln.layer_norm' op scale shape 1x128x768 does not broadcast to normalized shape 128x768}}
  %0 = kiln.layer_norm %x, %g {axis = 1 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<1x128x768xf32>, tensor<1x128x768xf32>) -> tensor<1x128x768xf32>
  return %0 : tensor<1x128x768xf32>
}

// -----

func.func @layer_norm_bias_shape(%x: tensor<2x4x8xf32>, %g: tensor<4x8xf32>, %b: tensor<4x1x8xf32>) -> tensor<2x4x8xf32> {
  // expected-error @+1 {{'kiln.layer_norm' op bias shape 4x1x8 does not broadcast to normalized shape 4x8}}
  %0 = kiln.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<2x4x8xf32>, tensor<4x8xf32>, tensor<4x1x8xf32>) -> tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}

// -----

func.func @instance_norm_rank(%x: tensor<2x3xf32>, %s: tensor<3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'kiln.instance_norm' op input must have rank >= 3 (N, C, spatial...), got 2x3}}
  %0 = kiln.instance_norm %x, %s, %s {epsilon = 9.99999974E-6 : f32} : (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @instance_norm_scale_size(%x: tensor<2x3x8x8xf32>, %s: tensor<2xf32>, %b: tensor<3xf32>) -> tensor<2x3x8x8xf32> {
  // expected-error @+1 {{'kiln.instance_norm' op scale must be 1-D of size 3 (channels), got 2}}
  %0 = kiln.instance_norm %x, %s, %b {epsilon = 9.99999974E-6 : f32} : (tensor<2x3x8x8xf32>, tensor<2xf32>, tensor<3xf32>) -> tensor<2x3x8x8xf32>
  return %0 : tensor<2x3x8x8xf32>
}

// -----

func.func @instance_norm_bias_size(%x: tensor<2x3x8x8xf32>, %s: tensor<3xf32>, %b: tensor<3x1xf32>) -> tensor<2x3x8x8xf32> {
  // expected-error @+1 {{'kiln.instance_norm' op bias must be 1-D of size 3 (channels), got 3x1}}
  %0 = kiln.instance_norm %x, %s, %b {epsilon = 9.99999974E-6 : f32} : (tensor<2x3x8x8xf32>, tensor<3xf32>, tensor<3x1xf32>) -> tensor<2x3x8x8xf32>
  return %0 : tensor<2x3x8x8xf32>
}

// -----

func.func @softmax_axis_too_big(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  // expected-error @+1 {{'kiln.softmax' op axis 2 out of range [0, 2)}}
  %0 = kiln.softmax %x {axis = 2 : i64} : tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

func.func @softmax_axis_negative(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  // expected-error @+1 {{'kiln.softmax' op axis -1 out of range [0, 2)}}
  %0 = kiln.softmax %x {axis = -1 : i64, log} : tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

func.func @softmax_int_input(%x: tensor<4x10xi32>) -> tensor<4x10xi32> {
  // expected-error @+1 {{'kiln.softmax' op operand #0 must be ranked tensor of floating-point values, but got 'tensor<4x10xi32>'}}
  %0 = kiln.softmax %x {axis = 1 : i64} : tensor<4x10xi32>
  return %0 : tensor<4x10xi32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.reduce, kiln.arg_reduce
//===----------------------------------------------------------------------===//

func.func @reduce_axis_out_of_range(%x: tensor<2x3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'kiln.reduce' op axis 3 out of range [0, 3)}}
  // expected-error @+1 {{'kiln.reduce' op failed to infer returned types}}
  %0 = kiln.reduce sum %x {axes = array<i64: 3>} : tensor<2x3x4xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @reduce_axis_negative(%x: tensor<2x3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'kiln.reduce' op axis -1 out of range [0, 3)}}
  // expected-error @+1 {{'kiln.reduce' op failed to infer returned types}}
  %0 = kiln.reduce sum %x {axes = array<i64: -1>} : tensor<2x3x4xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @reduce_axes_unsorted(%x: tensor<2x3x4xf32>) -> tensor<3xf32> {
  // expected-error @+2 {{'kiln.reduce' op axes must be sorted and unique, got [2, 0]}}
  // expected-error @+1 {{'kiln.reduce' op failed to infer returned types}}
  %0 = kiln.reduce max %x {axes = array<i64: 2, 0>} : tensor<2x3x4xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @reduce_axes_duplicate(%x: tensor<2x3x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+2 {{'kiln.reduce' op axes must be sorted and unique, got [1, 1]}}
  // expected-error @+1 {{'kiln.reduce' op failed to infer returned types}}
  %0 = kiln.reduce mean %x {axes = array<i64: 1, 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// Without keep_dims the reduced dimensions are dropped.
func.func @reduce_wrong_result(%x: tensor<1x64x7x7xf32>) -> tensor<1x64x1x1xf32> {
  // expected-error @+2 {{'kiln.reduce' op inferred type(s) 'tensor<1x64xf32>' are incompatible with return type(s) of operation 'tensor<1x64x1x1xf32>'}}
  // expected-error @+1 {{'kiln.reduce' op failed to infer returned types}}
  %0 = kiln.reduce mean %x {axes = array<i64: 2, 3>} : tensor<1x64x7x7xf32> -> tensor<1x64x1x1xf32>
  return %0 : tensor<1x64x1x1xf32>
}

// -----

func.func @arg_reduce_axis_out_of_range(%x: tensor<4x10xf32>) -> tensor<4xi64> {
  // expected-error @+2 {{'kiln.arg_reduce' op axis 2 out of range [0, 2)}}
  // expected-error @+1 {{'kiln.arg_reduce' op failed to infer returned types}}
  %0 = kiln.arg_reduce max %x {axis = 2 : i64} : tensor<4x10xf32> -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

func.func @arg_reduce_empty_axis(%x: tensor<4x0xf32>) -> tensor<4xi64> {
  // expected-error @+1 {{'kiln.arg_reduce' op cannot take arg of an empty axis}}
  %0 = kiln.arg_reduce min %x {axis = 1 : i64} : tensor<4x0xf32> -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

func.func @arg_reduce_result_not_i64(%x: tensor<4x10xf32>) -> tensor<4xi32> {
  // expected-error @+1 {{'kiln.arg_reduce' op result #0 must be ranked tensor of 64-bit signless integer values, but got 'tensor<4xi32>'}}
  %0 = kiln.arg_reduce max %x {axis = 1 : i64} : tensor<4x10xf32> -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.pool
//===----------------------------------------------------------------------===//

func.func @pool_input_rank(%x: tensor<1x3xf32>) -> tensor<1x3xf32> {
  // expected-error @+2 {{'kiln.pool' op input must have rank >= 3 (N, C, spatial...), got 1x3}}
  // expected-error @+1 {{'kiln.pool' op failed to infer returned types}}
  %0 = kiln.pool max %x {dilations = array<i64>, kernel_shape = array<i64>, pads = array<i64>, strides = array<i64>} : tensor<1x3xf32> -> tensor<1x3xf32>
  return %0 : tensor<1x3xf32>
}

// -----

func.func @pool_kernel_count(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  // expected-error @+2 {{'kiln.pool' op expects 2 kernel sizes, got 1}}
  // expected-error @+1 {{'kiln.pool' op failed to infer returned types}}
  %0 = kiln.pool max %x {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  return %0 : tensor<1x3x4x4xf32>
}

// -----

func.func @pool_pads_count(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  // expected-error @+2 {{'kiln.pool' op expects 4 pads (begin then end per spatial dim), got 2}}
  // expected-error @+1 {{'kiln.pool' op failed to infer returned types}}
  %0 = kiln.pool max %x {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0>, strides = array<i64: 2, 2>} : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  return %0 : tensor<1x3x4x4xf32>
}

// -----

func.func @pool_negative_stride(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  // expected-error @+2 {{'kiln.pool' op stride 0 must be positive, got -2}}
  // expected-error @+1 {{'kiln.pool' op failed to infer returned types}}
  %0 = kiln.pool avg %x {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: -2, 2>} : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  return %0 : tensor<1x3x4x4xf32>
}

// -----

func.func @pool_zero_kernel(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  // expected-error @+2 {{'kiln.pool' op kernel size 1 must be positive}}
  // expected-error @+1 {{'kiln.pool' op failed to infer returned types}}
  %0 = kiln.pool max %x {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  return %0 : tensor<1x3x4x4xf32>
}

// -----

// The end padding of spatial dim 1 (2) is as wide as the 2-wide window.
func.func @pool_pad_not_smaller_than_kernel(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x5xf32> {
  // expected-error @+2 {{'kiln.pool' op padding along spatial dim 1 must be smaller than the kernel window}}
  // expected-error @+1 {{'kiln.pool' op failed to infer returned types}}
  %0 = kiln.pool max %x {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 2>, strides = array<i64: 2, 2>} : tensor<1x3x8x8xf32> -> tensor<1x3x4x5xf32>
  return %0 : tensor<1x3x4x5xf32>
}

// -----

func.func @pool_window_too_big(%x: tensor<1x3x2x2xf32>) -> tensor<1x3x1x1xf32> {
  // expected-error @+2 {{'kiln.pool' op window does not fit padded input 1x3x2x2 along spatial dim 0}}
  // expected-error @+1 {{'kiln.pool' op failed to infer returned types}}
  %0 = kiln.pool max %x {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : tensor<1x3x2x2xf32> -> tensor<1x3x1x1xf32>
  return %0 : tensor<1x3x1x1xf32>
}

// -----

func.func @pool_avg_on_int(%x: tensor<1x3x8x8xi32>) -> tensor<1x3x4x4xi32> {
  // expected-error @+1 {{'kiln.pool' op average pooling expects floating-point input, got 'i32'}}
  %0 = kiln.pool avg %x {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : tensor<1x3x8x8xi32> -> tensor<1x3x4x4xi32>
  return %0 : tensor<1x3x4x4xi32>
}

// -----

// Without ceil_mode, (7 - 2) / 2 + 1 = 3.
func.func @pool_wrong_result(%x: tensor<1x3x7x7xf32>) -> tensor<1x3x4x4xf32> {
  // expected-error @+2 {{'kiln.pool' op inferred type(s) 'tensor<1x3x3x3xf32>' are incompatible with return type(s) of operation 'tensor<1x3x4x4xf32>'}}
  // expected-error @+1 {{'kiln.pool' op failed to infer returned types}}
  %0 = kiln.pool max %x {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : tensor<1x3x7x7xf32> -> tensor<1x3x4x4xf32>
  return %0 : tensor<1x3x4x4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.topk, kiln.cumsum
//===----------------------------------------------------------------------===//

func.func @topk_axis_out_of_range(%x: tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<3x4xi64>) {
  // expected-error @+2 {{'kiln.topk' op axis 2 out of range [0, 2)}}
  // expected-error @+1 {{'kiln.topk' op failed to infer returned types}}
  %v, %i = kiln.topk %x {axis = 2 : i64, k = 1 : i64, largest = true} : tensor<3x4xf32> -> tensor<3x4xf32>, tensor<3x4xi64>
  return %v, %i : tensor<3x4xf32>, tensor<3x4xi64>
}

// -----

func.func @topk_k_too_big(%x: tensor<3x4xf32>) -> (tensor<3x5xf32>, tensor<3x5xi64>) {
  // expected-error @+2 {{'kiln.topk' op k = 5 must be in [0, 4] (axis size)}}
  // expected-error @+1 {{'kiln.topk' op failed to infer returned types}}
  %v, %i = kiln.topk %x {axis = 1 : i64, k = 5 : i64, largest = true} : tensor<3x4xf32> -> tensor<3x5xf32>, tensor<3x5xi64>
  return %v, %i : tensor<3x5xf32>, tensor<3x5xi64>
}

// -----

func.func @topk_k_negative(%x: tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<3x4xi64>) {
  // expected-error @+2 {{'kiln.topk' op k = -1 must be in [0, 3] (axis size)}}
  // expected-error @+1 {{'kiln.topk' op failed to infer returned types}}
  %v, %i = kiln.topk %x {axis = 0 : i64, k = -1 : i64, largest = false} : tensor<3x4xf32> -> tensor<3x4xf32>, tensor<3x4xi64>
  return %v, %i : tensor<3x4xf32>, tensor<3x4xi64>
}

// -----

// The indices result is always i64.
func.func @topk_wrong_indices_type(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  // expected-error @+1 {{'kiln.topk' op result #1 must be ranked tensor of 64-bit signless integer values, but got 'tensor<3x2xf32>'}}
  %v, %i = kiln.topk %x {axis = 1 : i64, k = 2 : i64, largest = true} : tensor<3x4xf32> -> tensor<3x2xf32>, tensor<3x2xf32>
  return %v, %i : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

func.func @cumsum_axis_out_of_range(%x: tensor<5xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{'kiln.cumsum' op axis 1 out of range [0, 1)}}
  %0 = kiln.cumsum %x {axis = 1 : i64} : tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

func.func @cumsum_axis_negative(%x: tensor<5x2xi32>) -> tensor<5x2xi32> {
  // expected-error @+1 {{'kiln.cumsum' op axis -2 out of range [0, 2)}}
  %0 = kiln.cumsum %x {axis = -2 : i64, exclusive} : tensor<5x2xi32>
  return %0 : tensor<5x2xi32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.reshape, kiln.transpose
//===----------------------------------------------------------------------===//

func.func @reshape_element_count(%x: tensor<2x3xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{'kiln.reshape' op cannot reshape 2x3 (6 elements) to 4x2 (8 elements)}}
  %0 = kiln.reshape %x : tensor<2x3xf32> -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @reshape_scalar_element_count(%x: tensor<2xf32>) -> tensor<f32> {
  // expected-error @+1 {{'kiln.reshape' op cannot reshape 2 (2 elements) to scalar (1 elements)}}
  %0 = kiln.reshape %x : tensor<2xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @reshape_element_type(%x: tensor<2x3xf32>) -> tensor<6xi32> {
  // expected-error @+1 {{'kiln.reshape' op element type changes from 'f32' to 'i32'}}
  %0 = kiln.reshape %x : tensor<2x3xf32> -> tensor<6xi32>
  return %0 : tensor<6xi32>
}

// -----

func.func @transpose_permutation_size(%x: tensor<2x3x4xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{'kiln.transpose' op permutation has 2 entries, input rank is 3}}
  // expected-error @+1 {{'kiln.transpose' op failed to infer returned types}}
  %0 = kiln.transpose %x [1, 0] : tensor<2x3x4xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @transpose_permutation_duplicate(%x: tensor<2x3x4xf32>) -> tensor<2x2x3xf32> {
  // expected-error @+2 {{'kiln.transpose' op permutation is not a permutation of [0, 3)}}
  // expected-error @+1 {{'kiln.transpose' op failed to infer returned types}}
  %0 = kiln.transpose %x [0, 0, 1] : tensor<2x3x4xf32> -> tensor<2x2x3xf32>
  return %0 : tensor<2x2x3xf32>
}

// -----

func.func @transpose_permutation_out_of_range(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+2 {{'kiln.transpose' op permutation is not a permutation of [0, 3)}}
  // expected-error @+1 {{'kiln.transpose' op failed to infer returned types}}
  %0 = kiln.transpose %x [0, 1, 3] : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// result.shape[i] = input.shape[permutation[i]]: [2, 0, 1] gives 4x2x3.
func.func @transpose_wrong_result(%x: tensor<2x3x4xf32>) -> tensor<3x4x2xf32> {
  // expected-error @+2 {{'kiln.transpose' op inferred type(s) 'tensor<4x2x3xf32>' are incompatible with return type(s) of operation 'tensor<3x4x2xf32>'}}
  // expected-error @+1 {{'kiln.transpose' op failed to infer returned types}}
  %0 = kiln.transpose %x [2, 0, 1] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  return %0 : tensor<3x4x2xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.concat
//===----------------------------------------------------------------------===//

func.func @concat_no_inputs() -> tensor<1xf32> {
  // expected-error @+2 {{'kiln.concat' op expects at least one input}}
  // expected-error @+1 {{'kiln.concat' op failed to infer returned types}}
  %0 = kiln.concat {axis = 0 : i64} : () -> tensor<1xf32>
  return %0 : tensor<1xf32>
}

// -----

func.func @concat_axis_out_of_range(%a: tensor<1x2xf32>, %b: tensor<1x3xf32>) -> tensor<1x5xf32> {
  // expected-error @+2 {{'kiln.concat' op axis 2 out of range [0, 2)}}
  // expected-error @+1 {{'kiln.concat' op failed to infer returned types}}
  %0 = kiln.concat %a, %b {axis = 2 : i64} : (tensor<1x2xf32>, tensor<1x3xf32>) -> tensor<1x5xf32>
  return %0 : tensor<1x5xf32>
}

// -----

func.func @concat_rank_mismatch(%a: tensor<1x2xf32>, %b: tensor<3xf32>) -> tensor<1x5xf32> {
  // expected-error @+2 {{'kiln.concat' op input 1 has type tensor<3xf32>, incompatible with input 0 of type tensor<1x2xf32>}}
  // expected-error @+1 {{'kiln.concat' op failed to infer returned types}}
  %0 = kiln.concat %a, %b {axis = 1 : i64} : (tensor<1x2xf32>, tensor<3xf32>) -> tensor<1x5xf32>
  return %0 : tensor<1x5xf32>
}

// -----

func.func @concat_element_type_mismatch(%a: tensor<1x2xf32>, %b: tensor<1x2xf32>, %c: tensor<1x3xi32>) -> tensor<1x7xf32> {
  // expected-error @+2 {{'kiln.concat' op input 2 has type tensor<1x3xi32>, incompatible with input 0 of type tensor<1x2xf32>}}
  // expected-error @+1 {{'kiln.concat' op failed to infer returned types}}
  %0 = kiln.concat %a, %b, %c {axis = 1 : i64} : (tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x3xi32>) -> tensor<1x7xf32>
  return %0 : tensor<1x7xf32>
}

// -----

func.func @concat_shape_mismatch(%a: tensor<1x2xf32>, %b: tensor<2x3xf32>) -> tensor<1x5xf32> {
  // expected-error @+2 {{'kiln.concat' op input 1 shape 2x3 differs from input 0 shape 1x2 outside the concatenation axis}}
  // expected-error @+1 {{'kiln.concat' op failed to infer returned types}}
  %0 = kiln.concat %a, %b {axis = 1 : i64} : (tensor<1x2xf32>, tensor<2x3xf32>) -> tensor<1x5xf32>
  return %0 : tensor<1x5xf32>
}

// -----

func.func @concat_wrong_result(%a: tensor<1x2xf32>, %b: tensor<1x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'kiln.concat' op inferred type(s) 'tensor<1x5xf32>' are incompatible with return type(s) of operation 'tensor<2x3xf32>'}}
  // expected-error @+1 {{'kiln.concat' op failed to infer returned types}}
  %0 = kiln.concat %a, %b {axis = 1 : i64} : (tensor<1x2xf32>, tensor<1x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.slice
//===----------------------------------------------------------------------===//

func.func @slice_rank_change(%x: tensor<4x10xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.slice' op result type 'tensor<4xf32>' must keep the rank and element type of 'tensor<4x10xf32>'}}
  %0 = kiln.slice %x {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<4x10xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @slice_element_type_change(%x: tensor<4x10xf32>) -> tensor<4x4xf16> {
  // expected-error @+1 {{'kiln.slice' op result type 'tensor<4x4xf16>' must keep the rank and element type of 'tensor<4x10xf32>'}}
  %0 = kiln.slice %x {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<4x10xf32> -> tensor<4x4xf16>
  return %0 : tensor<4x4xf16>
}

// -----

func.func @slice_starts_count(%x: tensor<4x10xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'kiln.slice' op expects 2 starts and steps, got 1 and 2}}
  %0 = kiln.slice %x {starts = array<i64: 0>, steps = array<i64: 1, 1>} : tensor<4x10xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @slice_steps_count(%x: tensor<4x10xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'kiln.slice' op expects 2 starts and steps, got 2 and 3}}
  %0 = kiln.slice %x {starts = array<i64: 0, 0>, steps = array<i64: 1, 1, 1>} : tensor<4x10xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @slice_zero_step(%x: tensor<4x10xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'kiln.slice' op step along dim 1 is zero}}
  %0 = kiln.slice %x {starts = array<i64: 0, 0>, steps = array<i64: 1, 0>} : tensor<4x10xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// Elements 8, 9, 10, 11 of a dimension of size 10.
func.func @slice_window_past_end(%x: tensor<4x10xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'kiln.slice' op window along dim 1 (start 8, step 1, size 4) exceeds input size 10}}
  %0 = kiln.slice %x {starts = array<i64: 0, 8>, steps = array<i64: 1, 1>} : tensor<4x10xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// Elements 6, 8, 10 of a dimension of size 10: the last one is out of range.
func.func @slice_strided_window_past_end(%x: tensor<4x10xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{'kiln.slice' op window along dim 1 (start 6, step 2, size 3) exceeds input size 10}}
  %0 = kiln.slice %x {starts = array<i64: 0, 6>, steps = array<i64: 1, 2>} : tensor<4x10xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// Elements 2, 1, 0, -1: a reversed window running off the front.
func.func @slice_negative_step_past_begin(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  // expected-error @+1 {{'kiln.slice' op window along dim 0 (start 2, step -1, size 4) exceeds input size 4}}
  %0 = kiln.slice %x {starts = array<i64: 2, 0>, steps = array<i64: -1, 1>} : tensor<4x10xf32> -> tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

func.func @slice_negative_start(%x: tensor<4x10xf32>) -> tensor<1x10xf32> {
  // expected-error @+1 {{'kiln.slice' op window along dim 0 (start -1, step 1, size 1) exceeds input size 4}}
  %0 = kiln.slice %x {starts = array<i64: -1, 0>, steps = array<i64: 1, 1>} : tensor<4x10xf32> -> tensor<1x10xf32>
  return %0 : tensor<1x10xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.broadcast
//===----------------------------------------------------------------------===//

func.func @broadcast_element_type(%x: tensor<3x1xf32>) -> tensor<3x4xf16> {
  // expected-error @+1 {{'kiln.broadcast' op element type changes from 'f32' to 'f16'}}
  %0 = kiln.broadcast %x : tensor<3x1xf32> -> tensor<3x4xf16>
  return %0 : tensor<3x4xf16>
}

// -----

// Shapes are right-aligned: 3x2 against 2x3 compares 3 with 2.
func.func @broadcast_incompatible(%x: tensor<3x2xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'kiln.broadcast' op input shape 3x2 does not broadcast to 2x3}}
  %0 = kiln.broadcast %x : tensor<3x2xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @broadcast_to_lower_rank(%x: tensor<1x3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.broadcast' op input shape 1x3 does not broadcast to 3}}
  %0 = kiln.broadcast %x : tensor<1x3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.gather, kiln.gather_elements
//===----------------------------------------------------------------------===//

func.func @gather_axis_out_of_range(%d: tensor<5x3xf32>, %i: tensor<2xi64>) -> tensor<5x3xf32> {
  // expected-error @+2 {{'kiln.gather' op axis 2 out of range [0, 2)}}
  // expected-error @+1 {{'kiln.gather' op failed to infer returned types}}
  %0 = kiln.gather %d, %i {axis = 2 : i64} : (tensor<5x3xf32>, tensor<2xi64>) -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

func.func @gather_float_indices(%d: tensor<5x3xf32>, %i: tensor<2xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'kiln.gather' op operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<2xf32>'}}
  %0 = kiln.gather %d, %i {axis = 0 : i64} : (tensor<5x3xf32>, tensor<2xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// data.shape[:1] + indices.shape + data.shape[2:] = 5x2x4.
func.func @gather_wrong_result(%d: tensor<5x3xf32>, %i: tensor<2x4xi32>) -> tensor<2x4x3xf32> {
  // expected-error @+2 {{'kiln.gather' op inferred type(s) 'tensor<5x2x4xf32>' are incompatible with return type(s) of operation 'tensor<2x4x3xf32>'}}
  // expected-error @+1 {{'kiln.gather' op failed to infer returned types}}
  %0 = kiln.gather %d, %i {axis = 1 : i64} : (tensor<5x3xf32>, tensor<2x4xi32>) -> tensor<2x4x3xf32>
  return %0 : tensor<2x4x3xf32>
}

// -----

func.func @gather_elements_rank(%d: tensor<2x3xf32>, %i: tensor<2xi64>) -> tensor<2xf32> {
  // expected-error @+2 {{'kiln.gather_elements' op indices rank 1 differs from data rank 2}}
  // expected-error @+1 {{'kiln.gather_elements' op failed to infer returned types}}
  %0 = kiln.gather_elements %d, %i {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @gather_elements_axis(%d: tensor<2x3xf32>, %i: tensor<2x2xi64>) -> tensor<2x2xf32> {
  // expected-error @+2 {{'kiln.gather_elements' op axis -1 out of range [0, 2)}}
  // expected-error @+1 {{'kiln.gather_elements' op failed to infer returned types}}
  %0 = kiln.gather_elements %d, %i {axis = -1 : i64} : (tensor<2x3xf32>, tensor<2x2xi64>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.pad
//===----------------------------------------------------------------------===//

func.func @pad_count(%x: tensor<2x3xf32>) -> tensor<2x5xf32> {
  // expected-error @+2 {{'kiln.pad' op expects 4 pads (begin then end per dim), got 2}}
  // expected-error @+1 {{'kiln.pad' op failed to infer returned types}}
  %0 = kiln.pad constant %x {pads = array<i64: 1, 1>, value = 0.000000e+00 : f64} : tensor<2x3xf32> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// 3 - 2 - 2 = -1 rows would be left.
func.func @pad_crop_too_much(%x: tensor<3x4xf32>) -> tensor<0x4xf32> {
  // expected-error @+2 {{'kiln.pad' op pads crop more than the size 3 of dim 0}}
  // expected-error @+1 {{'kiln.pad' op failed to infer returned types}}
  %0 = kiln.pad constant %x {pads = array<i64: -2, 0, -2, 0>, value = 0.000000e+00 : f64} : tensor<3x4xf32> -> tensor<0x4xf32>
  return %0 : tensor<0x4xf32>
}

// -----

// Reflection can add at most size - 1 = 3 elements on a side.
func.func @pad_reflect_too_large(%x: tensor<3x4xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{'kiln.pad' op reflect padding 4 along dim 1 must be smaller than its size 4}}
  %0 = kiln.pad reflect %x {pads = array<i64: 0, 4, 0, 0>, value = 0.000000e+00 : f64} : tensor<3x4xf32> -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

func.func @pad_reflect_end_too_large(%x: tensor<3x4xf32>) -> tensor<6x5xf32> {
  // expected-error @+1 {{'kiln.pad' op reflect padding 3 along dim 0 must be smaller than its size 3}}
  %0 = kiln.pad reflect %x {pads = array<i64: 0, 0, 3, 1>, value = 0.000000e+00 : f64} : tensor<3x4xf32> -> tensor<6x5xf32>
  return %0 : tensor<6x5xf32>
}

// -----

func.func @pad_edge_of_empty_dim(%x: tensor<0x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{'kiln.pad' op edge padding of empty dim 0}}
  %0 = kiln.pad edge %x {pads = array<i64: 1, 0, 0, 0>, value = 0.000000e+00 : f64} : tensor<0x4xf32> -> tensor<1x4xf32>
  return %0 : tensor<1x4xf32>
}

// -----

func.func @pad_wrong_result(%x: tensor<2x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+2 {{'kiln.pad' op inferred type(s) 'tensor<2x5xf32>' are incompatible with return type(s) of operation 'tensor<4x3xf32>'}}
  // expected-error @+1 {{'kiln.pad' op failed to infer returned types}}
  %0 = kiln.pad constant %x {pads = array<i64: 0, 1, 0, 1>, value = 0.000000e+00 : f64} : tensor<2x3xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.resize
//===----------------------------------------------------------------------===//

func.func @resize_rank_change(%x: tensor<1x3x4x4xf32>) -> tensor<3x8x8xf32> {
  // expected-error @+1 {{'kiln.resize' op result type 'tensor<3x8x8xf32>' must keep the rank and element type of 'tensor<1x3x4x4xf32>'}}
  %0 = kiln.resize nearest %x {coord_mode = #kiln<coord_mode asymmetric>, nearest_mode = #kiln<nearest_mode floor>, scales = array<f64: 1.0, 2.0, 2.0>} : tensor<1x3x4x4xf32> -> tensor<3x8x8xf32>
  return %0 : tensor<3x8x8xf32>
}

// -----

func.func @resize_element_type_change(%x: tensor<1x3x4x4xf32>) -> tensor<1x3x8x8xf16> {
  // expected-error @+1 {{'kiln.resize' op result type 'tensor<1x3x8x8xf16>' must keep the rank and element type of 'tensor<1x3x4x4xf32>'}}
  %0 = kiln.resize linear %x {coord_mode = #kiln<coord_mode half_pixel>, nearest_mode = #kiln<nearest_mode floor>, scales = array<f64: 1.0, 1.0, 2.0, 2.0>} : tensor<1x3x4x4xf32> -> tensor<1x3x8x8xf16>
  return %0 : tensor<1x3x8x8xf16>
}

// -----

func.func @resize_scales_count(%x: tensor<1x3x4x4xf32>) -> tensor<1x3x8x8xf32> {
  // expected-error @+1 {{'kiln.resize' op expects 4 scales, got 2}}
  %0 = kiln.resize nearest %x {coord_mode = #kiln<coord_mode asymmetric>, nearest_mode = #kiln<nearest_mode floor>, scales = array<f64: 2.0, 2.0>} : tensor<1x3x4x4xf32> -> tensor<1x3x8x8xf32>
  return %0 : tensor<1x3x8x8xf32>
}

// -----

func.func @resize_zero_scale(%x: tensor<1x3x4x4xf32>) -> tensor<1x3x8x8xf32> {
  // expected-error @+1 {{'kiln.resize' op scales must be positive, got 0}}
  %0 = kiln.resize nearest %x {coord_mode = #kiln<coord_mode asymmetric>, nearest_mode = #kiln<nearest_mode floor>, scales = array<f64: 1.0, 0.0, 2.0, 2.0>} : tensor<1x3x4x4xf32> -> tensor<1x3x8x8xf32>
  return %0 : tensor<1x3x8x8xf32>
}

// -----

func.func @resize_negative_scale(%x: tensor<1x3x4x4xf32>) -> tensor<1x3x8x8xf32> {
  // expected-error @+1 {{'kiln.resize' op scales must be positive, got -2}}
  %0 = kiln.resize nearest %x {coord_mode = #kiln<coord_mode asymmetric>, nearest_mode = #kiln<nearest_mode floor>, scales = array<f64: 1.0, 1.0, -2.0, 2.0>} : tensor<1x3x4x4xf32> -> tensor<1x3x8x8xf32>
  return %0 : tensor<1x3x8x8xf32>
}

// -----

func.func @resize_int_input(%x: tensor<1x3x4x4xi8>) -> tensor<1x3x8x8xi8> {
  // expected-error @+1 {{'kiln.resize' op operand #0 must be ranked tensor of floating-point values, but got 'tensor<1x3x4x4xi8>'}}
  %0 = kiln.resize nearest %x {coord_mode = #kiln<coord_mode asymmetric>, nearest_mode = #kiln<nearest_mode floor>, scales = array<f64: 1.0, 1.0, 2.0, 2.0>} : tensor<1x3x4x4xi8> -> tensor<1x3x8x8xi8>
  return %0 : tensor<1x3x8x8xi8>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.constant
//===----------------------------------------------------------------------===//

func.func @constant_not_tensor() -> vector<2xi32> {
  // expected-error @+1 {{'kiln.constant' op result #0 must be ranked tensor of any type values, but got 'vector<2xi32>'}}
  %0 = kiln.constant dense<[1, 2]> : vector<2xi32>
  return %0 : vector<2xi32>
}

// -----

func.func @conv_bias_element_type(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xi32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{'kiln.conv' op bias element type 'i32' differs from the input's 'f32'}}
  %0 = kiln.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xi32>) -> tensor<1x4x6x6xf32>
  return %0 : tensor<1x4x6x6xf32>
}

// -----

func.func @conv_zero_kernel(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x0x3xf32>) -> tensor<1x4x9x6xf32> {
  // expected-error @+2 {{'kiln.conv' op kernel size along spatial dim 0 must be positive, weight is 4x3x0x3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x0x3xf32>) -> tensor<1x4x9x6xf32>
  return %0 : tensor<1x4x9x6xf32>
}

// -----

func.func @conv_transpose_negative_output_padding(%x: tensor<1x2x4x4xf32>, %w: tensor<2x3x3x3xf32>) -> tensor<1x3x7x7xf32> {
  // expected-error @+2 {{'kiln.conv_transpose' op output_padding -2 along spatial dim 0 must be in [0, max(stride, dilation))}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: -2, -2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>, tensor<2x3x3x3xf32>) -> tensor<1x3x7x7xf32>
  return %0 : tensor<1x3x7x7xf32>
}

// -----

func.func @layer_norm_scale_element_type(%x: tensor<2x8xf16>, %g: tensor<8xf32>) -> tensor<2x8xf16> {
  // expected-error @+1 {{'kiln.layer_norm' op scale element type 'f32' differs from the input's 'f16'}}
  %0 = kiln.layer_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x8xf16>, tensor<8xf32>) -> tensor<2x8xf16>
  return %0 : tensor<2x8xf16>
}

// -----

func.func @instance_norm_bias_element_type(%x: tensor<1x2x4x4xf32>, %s: tensor<2xf32>, %b: tensor<2xf16>) -> tensor<1x2x4x4xf32> {
  // expected-error @+1 {{'kiln.instance_norm' op bias element type 'f16' differs from the input's 'f32'}}
  %0 = kiln.instance_norm %x, %s, %b {epsilon = 1.0e-05 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf16>) -> tensor<1x2x4x4xf32>
  return %0 : tensor<1x2x4x4xf32>
}

// -----

func.func @gather_elements_indices_exceed(%d: tensor<2x3xf32>, %i: tensor<2x5xi64>) -> tensor<2x5xf32> {
  // expected-error @+2 {{'kiln.gather_elements' op indices shape 2x5 exceeds data shape 2x3 along dim 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.gather_elements %d, %i {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x5xi64>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @pool_ceil_mode_drops_window_in_end_padding(%x: tensor<1x1x5x5xf32>) -> tensor<1x1x4x4xf32> {
  // Input 5, pads 1/1, kernel 2, stride 2: a 4th window would start at
  // padded position 6, inside the end padding, so there are 3 windows.
  // expected-error @+2 {{'kiln.pool' op inferred type(s) 'tensor<1x1x3x3xf32>' are incompatible with return type(s) of operation 'tensor<1x1x4x4xf32>'}}
  // expected-error @+1 {{'kiln.pool' op failed to infer returned types}}
  %0 = kiln.pool max %x {ceil_mode, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : tensor<1x1x5x5xf32> -> tensor<1x1x4x4xf32>
  return %0 : tensor<1x1x4x4xf32>
}

// -----

func.func @mod_on_floats(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.binary' op 'mod' expects integer operands (use 'fmod' for floats)}}
  %0 = kiln.binary mod %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.kernel
//===----------------------------------------------------------------------===//

func.func @kernel_arg_count(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.kernel' op body has 0 arguments for 1 inputs}}
  %0 = kiln.kernel "k0" elementwise(%x) : (tensor<4xf32>) -> tensor<4xf32> {
    %c = kiln.constant dense<1.0> : tensor<4xf32>
    kiln.yield %c : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @kernel_arg_type(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.kernel' op body argument 0 has type 'tensor<4xf16>' but input 0 is 'tensor<4xf32>'}}
  %0 = kiln.kernel "k0" elementwise(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf16>):
    %c = kiln.constant dense<1.0> : tensor<4xf32>
    kiln.yield %c : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @kernel_yield_types(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.kernel' op yields 2 values of types ('tensor<4xf32>', 'tensor<4xf32>') for results ('tensor<4xf32>')}}
  %0 = kiln.kernel "k0" elementwise(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    kiln.yield %a, %a : tensor<4xf32>, tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @kernel_empty_name(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.kernel' op needs a non-empty name}}
  %0 = kiln.kernel "" elementwise(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    kiln.yield %a : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @kernel_isolated(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-note @+1 {{required by region isolation constraints}}
  %0 = kiln.kernel "k0" elementwise() : () -> tensor<4xf32> {
    // expected-error @+1 {{using value defined outside the region}}
    %r = kiln.unary relu %x : tensor<4xf32>
    kiln.yield %r : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @attention_heads(%q: tensor<1x3x4x8xf32>, %k: tensor<1x2x4x8xf32>) -> tensor<1x3x4x8xf32> {
  // expected-error @+1 {{3 query heads are not a multiple of 2 key/value heads}}
  %0 = kiln.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<1x3x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x3x4x8xf32>
  return %0 : tensor<1x3x4x8xf32>
}

// -----

func.func @attention_head_size(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x6xf32>) -> tensor<1x2x4x6xf32> {
  // expected-error @+1 {{do not match query}}
  %0 = kiln.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x6xf32>, tensor<1x2x4x6xf32>) -> tensor<1x2x4x6xf32>
  return %0 : tensor<1x2x4x6xf32>
}

// -----

func.func @attention_mask(%q: tensor<1x2x4x8xf32>, %m: tensor<1x1x4x5xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{does not broadcast to the scores [1, 2, 4, 4]}}
  %0 = kiln.attention %q, %q, %q mask %m {scale = 1.0 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x4x5xf32>) -> tensor<1x2x4x8xf32>
  return %0 : tensor<1x2x4x8xf32>
}

// -----

func.func @attention_rank(%q: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  // expected-error @+1 {{must be 4-D}}
  %0 = kiln.attention %q, %q, %q {scale = 1.0 : f32} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}
