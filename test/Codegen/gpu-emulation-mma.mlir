// nvgpu.mma.sync in thread-level GPU emulation: hand-written one-warp
// kernels load their A, B and C fragments from memory in the PTX ISA
// mma.sync fragment layouts (m16n8k16 .f16 and .bf16, m16n8k8 .tf32, f32
// accumulators; groupID = lane >> 2, threadID_in_group = lane % 4) and store
// their D fragments. Each result is compared with D = A * B + C computed by
// host loops on pseudo-random data (operands rounded to f16 or bf16 for the
// 16-bit kernels); the number of elements off by more than 1e-4 is printed. The
// correct layouts give 0; a wrong lane -> row mapping and swapped fragment
// registers give mismatches, and an mma.sync that half the warp never
// reaches, or meets at a shuffle instead, is a run error.
// The kernels are generated from the layout tables (rows and columns of
// register i as functions of groupID and threadID_in_group).
// RUN: kiln-opt %s --kiln-gpu-emulation-to-llvm | %preload_sanitizers mlir-runner -e main -entry-point-result=void -shared-libs=%kiln_lib/libkiln_runtime.so,%mlir_lib/libmlir_c_runner_utils.so 2>%t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=ERR < %t.err

// CHECK: m16n8k16 f16: 0
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: m16n8k16 f16, groupID = lane % 8: {{[1-9][0-9]*}}
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: m16n8k16 f16, a1 and a2 swapped: {{[1-9][0-9]*}}
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: m16n8k16 bf16: 0
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: m16n8k16 bf16 against the f16 reference: {{[1-9][0-9]*}}
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: m16n8k16 bf16, groupID = lane % 8: {{[1-9][0-9]*}}
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: m16n8k8 tf32: 0
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: m16n8k8 tf32, b0 and b1 swapped: {{[1-9][0-9]*}}
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: mma.sync by half a warp: 1
// CHECK-NEXT: mma.sync by half a warp, shuffle by the other half: 1
// ERR: GPU emulation: in block (0, 0, 0), warp 0 reaches a warp collective (shuffle, mma.sync) with 16 lanes while 16 lanes have exited
// ERR-NEXT: GPU emulation: in block (0, 0, 0), warp 0 runs mma.sync without all 32 lanes on the same mma shape (or with lanes at another warp collective)

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @mma_f16(%a: memref<256xf32>, %b: memref<128xf32>, %c: memref<128xf32>, %d: memref<128xf32>) kernel {
      %lane = gpu.thread_id x
      %k4 = arith.constant 4 : index
      %k8 = arith.constant 8 : index
      %k16 = arith.constant 16 : index
      %g = arith.divui %lane, %k4 : index
      %t = arith.remui %lane, %k4 : index
      %c2_ = arith.constant 2 : index
      %v1 = arith.muli %t, %c2_ : index
      %c16_ = arith.constant 16 : index
      %v2 = arith.muli %g, %c16_ : index
      %v3 = arith.addi %v2, %v1 : index
      %v4 = memref.load %a[%v3] : memref<256xf32>
      %v5 = arith.truncf %v4 : f32 to f16
      %v6 = arith.muli %t, %c2_ : index
      %c1_ = arith.constant 1 : index
      %v7 = arith.addi %v6, %c1_ : index
      %v8 = arith.muli %g, %c16_ : index
      %v9 = arith.addi %v8, %v7 : index
      %v10 = memref.load %a[%v9] : memref<256xf32>
      %v11 = arith.truncf %v10 : f32 to f16
      %c8_ = arith.constant 8 : index
      %v12 = arith.addi %g, %c8_ : index
      %v13 = arith.muli %t, %c2_ : index
      %v14 = arith.muli %v12, %c16_ : index
      %v15 = arith.addi %v14, %v13 : index
      %v16 = memref.load %a[%v15] : memref<256xf32>
      %v17 = arith.truncf %v16 : f32 to f16
      %v18 = arith.addi %g, %c8_ : index
      %v19 = arith.muli %t, %c2_ : index
      %v20 = arith.addi %v19, %c1_ : index
      %v21 = arith.muli %v18, %c16_ : index
      %v22 = arith.addi %v21, %v20 : index
      %v23 = memref.load %a[%v22] : memref<256xf32>
      %v24 = arith.truncf %v23 : f32 to f16
      %v25 = arith.muli %t, %c2_ : index
      %v26 = arith.addi %v25, %c8_ : index
      %v27 = arith.muli %g, %c16_ : index
      %v28 = arith.addi %v27, %v26 : index
      %v29 = memref.load %a[%v28] : memref<256xf32>
      %v30 = arith.truncf %v29 : f32 to f16
      %v31 = arith.muli %t, %c2_ : index
      %c9_ = arith.constant 9 : index
      %v32 = arith.addi %v31, %c9_ : index
      %v33 = arith.muli %g, %c16_ : index
      %v34 = arith.addi %v33, %v32 : index
      %v35 = memref.load %a[%v34] : memref<256xf32>
      %v36 = arith.truncf %v35 : f32 to f16
      %v37 = arith.addi %g, %c8_ : index
      %v38 = arith.muli %t, %c2_ : index
      %v39 = arith.addi %v38, %c8_ : index
      %v40 = arith.muli %v37, %c16_ : index
      %v41 = arith.addi %v40, %v39 : index
      %v42 = memref.load %a[%v41] : memref<256xf32>
      %v43 = arith.truncf %v42 : f32 to f16
      %v44 = arith.addi %g, %c8_ : index
      %v45 = arith.muli %t, %c2_ : index
      %v46 = arith.addi %v45, %c9_ : index
      %v47 = arith.muli %v44, %c16_ : index
      %v48 = arith.addi %v47, %v46 : index
      %v49 = memref.load %a[%v48] : memref<256xf32>
      %v50 = arith.truncf %v49 : f32 to f16
      %frag51 = vector.from_elements %v5, %v11, %v17, %v24, %v30, %v36, %v43, %v50 : vector<4x2xf16>
      %v52 = arith.muli %t, %c2_ : index
      %v53 = arith.muli %v52, %c8_ : index
      %v54 = arith.addi %v53, %g : index
      %v55 = memref.load %b[%v54] : memref<128xf32>
      %v56 = arith.truncf %v55 : f32 to f16
      %v57 = arith.muli %t, %c2_ : index
      %v58 = arith.addi %v57, %c1_ : index
      %v59 = arith.muli %v58, %c8_ : index
      %v60 = arith.addi %v59, %g : index
      %v61 = memref.load %b[%v60] : memref<128xf32>
      %v62 = arith.truncf %v61 : f32 to f16
      %v63 = arith.muli %t, %c2_ : index
      %v64 = arith.addi %v63, %c8_ : index
      %v65 = arith.muli %v64, %c8_ : index
      %v66 = arith.addi %v65, %g : index
      %v67 = memref.load %b[%v66] : memref<128xf32>
      %v68 = arith.truncf %v67 : f32 to f16
      %v69 = arith.muli %t, %c2_ : index
      %v70 = arith.addi %v69, %c9_ : index
      %v71 = arith.muli %v70, %c8_ : index
      %v72 = arith.addi %v71, %g : index
      %v73 = memref.load %b[%v72] : memref<128xf32>
      %v74 = arith.truncf %v73 : f32 to f16
      %frag75 = vector.from_elements %v56, %v62, %v68, %v74 : vector<2x2xf16>
      %v76 = arith.muli %t, %c2_ : index
      %v77 = arith.muli %g, %c8_ : index
      %v78 = arith.addi %v77, %v76 : index
      %v79 = memref.load %c[%v78] : memref<128xf32>
      %v80 = arith.muli %t, %c2_ : index
      %v81 = arith.addi %v80, %c1_ : index
      %v82 = arith.muli %g, %c8_ : index
      %v83 = arith.addi %v82, %v81 : index
      %v84 = memref.load %c[%v83] : memref<128xf32>
      %v85 = arith.addi %g, %c8_ : index
      %v86 = arith.muli %t, %c2_ : index
      %v87 = arith.muli %v85, %c8_ : index
      %v88 = arith.addi %v87, %v86 : index
      %v89 = memref.load %c[%v88] : memref<128xf32>
      %v90 = arith.addi %g, %c8_ : index
      %v91 = arith.muli %t, %c2_ : index
      %v92 = arith.addi %v91, %c1_ : index
      %v93 = arith.muli %v90, %c8_ : index
      %v94 = arith.addi %v93, %v92 : index
      %v95 = memref.load %c[%v94] : memref<128xf32>
      %frag96 = vector.from_elements %v79, %v84, %v89, %v95 : vector<2x2xf32>
      %dfrag = nvgpu.mma.sync(%frag51, %frag75, %frag96) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      %v97 = vector.extract %dfrag[0, 0] : f32 from vector<2x2xf32>
      %v98 = arith.muli %t, %c2_ : index
      %v99 = arith.muli %g, %c8_ : index
      %v100 = arith.addi %v99, %v98 : index
      memref.store %v97, %d[%v100] : memref<128xf32>
      %v101 = vector.extract %dfrag[0, 1] : f32 from vector<2x2xf32>
      %v102 = arith.muli %t, %c2_ : index
      %v103 = arith.addi %v102, %c1_ : index
      %v104 = arith.muli %g, %c8_ : index
      %v105 = arith.addi %v104, %v103 : index
      memref.store %v101, %d[%v105] : memref<128xf32>
      %v106 = vector.extract %dfrag[1, 0] : f32 from vector<2x2xf32>
      %v107 = arith.addi %g, %c8_ : index
      %v108 = arith.muli %t, %c2_ : index
      %v109 = arith.muli %v107, %c8_ : index
      %v110 = arith.addi %v109, %v108 : index
      memref.store %v106, %d[%v110] : memref<128xf32>
      %v111 = vector.extract %dfrag[1, 1] : f32 from vector<2x2xf32>
      %v112 = arith.addi %g, %c8_ : index
      %v113 = arith.muli %t, %c2_ : index
      %v114 = arith.addi %v113, %c1_ : index
      %v115 = arith.muli %v112, %c8_ : index
      %v116 = arith.addi %v115, %v114 : index
      memref.store %v111, %d[%v116] : memref<128xf32>
      gpu.return
    }
    gpu.func @mma_f16_wrong_lane_rows(%a: memref<256xf32>, %b: memref<128xf32>, %c: memref<128xf32>, %d: memref<128xf32>) kernel {
      %lane = gpu.thread_id x
      %k4 = arith.constant 4 : index
      %k8 = arith.constant 8 : index
      %k16 = arith.constant 16 : index
      %g = arith.remui %lane, %k8 : index
      %t = arith.divui %lane, %k8 : index
      %c2_ = arith.constant 2 : index
      %v117 = arith.muli %t, %c2_ : index
      %c16_ = arith.constant 16 : index
      %v118 = arith.muli %g, %c16_ : index
      %v119 = arith.addi %v118, %v117 : index
      %v120 = memref.load %a[%v119] : memref<256xf32>
      %v121 = arith.truncf %v120 : f32 to f16
      %v122 = arith.muli %t, %c2_ : index
      %c1_ = arith.constant 1 : index
      %v123 = arith.addi %v122, %c1_ : index
      %v124 = arith.muli %g, %c16_ : index
      %v125 = arith.addi %v124, %v123 : index
      %v126 = memref.load %a[%v125] : memref<256xf32>
      %v127 = arith.truncf %v126 : f32 to f16
      %c8_ = arith.constant 8 : index
      %v128 = arith.addi %g, %c8_ : index
      %v129 = arith.muli %t, %c2_ : index
      %v130 = arith.muli %v128, %c16_ : index
      %v131 = arith.addi %v130, %v129 : index
      %v132 = memref.load %a[%v131] : memref<256xf32>
      %v133 = arith.truncf %v132 : f32 to f16
      %v134 = arith.addi %g, %c8_ : index
      %v135 = arith.muli %t, %c2_ : index
      %v136 = arith.addi %v135, %c1_ : index
      %v137 = arith.muli %v134, %c16_ : index
      %v138 = arith.addi %v137, %v136 : index
      %v139 = memref.load %a[%v138] : memref<256xf32>
      %v140 = arith.truncf %v139 : f32 to f16
      %v141 = arith.muli %t, %c2_ : index
      %v142 = arith.addi %v141, %c8_ : index
      %v143 = arith.muli %g, %c16_ : index
      %v144 = arith.addi %v143, %v142 : index
      %v145 = memref.load %a[%v144] : memref<256xf32>
      %v146 = arith.truncf %v145 : f32 to f16
      %v147 = arith.muli %t, %c2_ : index
      %c9_ = arith.constant 9 : index
      %v148 = arith.addi %v147, %c9_ : index
      %v149 = arith.muli %g, %c16_ : index
      %v150 = arith.addi %v149, %v148 : index
      %v151 = memref.load %a[%v150] : memref<256xf32>
      %v152 = arith.truncf %v151 : f32 to f16
      %v153 = arith.addi %g, %c8_ : index
      %v154 = arith.muli %t, %c2_ : index
      %v155 = arith.addi %v154, %c8_ : index
      %v156 = arith.muli %v153, %c16_ : index
      %v157 = arith.addi %v156, %v155 : index
      %v158 = memref.load %a[%v157] : memref<256xf32>
      %v159 = arith.truncf %v158 : f32 to f16
      %v160 = arith.addi %g, %c8_ : index
      %v161 = arith.muli %t, %c2_ : index
      %v162 = arith.addi %v161, %c9_ : index
      %v163 = arith.muli %v160, %c16_ : index
      %v164 = arith.addi %v163, %v162 : index
      %v165 = memref.load %a[%v164] : memref<256xf32>
      %v166 = arith.truncf %v165 : f32 to f16
      %frag167 = vector.from_elements %v121, %v127, %v133, %v140, %v146, %v152, %v159, %v166 : vector<4x2xf16>
      %v168 = arith.muli %t, %c2_ : index
      %v169 = arith.muli %v168, %c8_ : index
      %v170 = arith.addi %v169, %g : index
      %v171 = memref.load %b[%v170] : memref<128xf32>
      %v172 = arith.truncf %v171 : f32 to f16
      %v173 = arith.muli %t, %c2_ : index
      %v174 = arith.addi %v173, %c1_ : index
      %v175 = arith.muli %v174, %c8_ : index
      %v176 = arith.addi %v175, %g : index
      %v177 = memref.load %b[%v176] : memref<128xf32>
      %v178 = arith.truncf %v177 : f32 to f16
      %v179 = arith.muli %t, %c2_ : index
      %v180 = arith.addi %v179, %c8_ : index
      %v181 = arith.muli %v180, %c8_ : index
      %v182 = arith.addi %v181, %g : index
      %v183 = memref.load %b[%v182] : memref<128xf32>
      %v184 = arith.truncf %v183 : f32 to f16
      %v185 = arith.muli %t, %c2_ : index
      %v186 = arith.addi %v185, %c9_ : index
      %v187 = arith.muli %v186, %c8_ : index
      %v188 = arith.addi %v187, %g : index
      %v189 = memref.load %b[%v188] : memref<128xf32>
      %v190 = arith.truncf %v189 : f32 to f16
      %frag191 = vector.from_elements %v172, %v178, %v184, %v190 : vector<2x2xf16>
      %v192 = arith.muli %t, %c2_ : index
      %v193 = arith.muli %g, %c8_ : index
      %v194 = arith.addi %v193, %v192 : index
      %v195 = memref.load %c[%v194] : memref<128xf32>
      %v196 = arith.muli %t, %c2_ : index
      %v197 = arith.addi %v196, %c1_ : index
      %v198 = arith.muli %g, %c8_ : index
      %v199 = arith.addi %v198, %v197 : index
      %v200 = memref.load %c[%v199] : memref<128xf32>
      %v201 = arith.addi %g, %c8_ : index
      %v202 = arith.muli %t, %c2_ : index
      %v203 = arith.muli %v201, %c8_ : index
      %v204 = arith.addi %v203, %v202 : index
      %v205 = memref.load %c[%v204] : memref<128xf32>
      %v206 = arith.addi %g, %c8_ : index
      %v207 = arith.muli %t, %c2_ : index
      %v208 = arith.addi %v207, %c1_ : index
      %v209 = arith.muli %v206, %c8_ : index
      %v210 = arith.addi %v209, %v208 : index
      %v211 = memref.load %c[%v210] : memref<128xf32>
      %frag212 = vector.from_elements %v195, %v200, %v205, %v211 : vector<2x2xf32>
      %dfrag = nvgpu.mma.sync(%frag167, %frag191, %frag212) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      %v213 = vector.extract %dfrag[0, 0] : f32 from vector<2x2xf32>
      %v214 = arith.muli %t, %c2_ : index
      %v215 = arith.muli %g, %c8_ : index
      %v216 = arith.addi %v215, %v214 : index
      memref.store %v213, %d[%v216] : memref<128xf32>
      %v217 = vector.extract %dfrag[0, 1] : f32 from vector<2x2xf32>
      %v218 = arith.muli %t, %c2_ : index
      %v219 = arith.addi %v218, %c1_ : index
      %v220 = arith.muli %g, %c8_ : index
      %v221 = arith.addi %v220, %v219 : index
      memref.store %v217, %d[%v221] : memref<128xf32>
      %v222 = vector.extract %dfrag[1, 0] : f32 from vector<2x2xf32>
      %v223 = arith.addi %g, %c8_ : index
      %v224 = arith.muli %t, %c2_ : index
      %v225 = arith.muli %v223, %c8_ : index
      %v226 = arith.addi %v225, %v224 : index
      memref.store %v222, %d[%v226] : memref<128xf32>
      %v227 = vector.extract %dfrag[1, 1] : f32 from vector<2x2xf32>
      %v228 = arith.addi %g, %c8_ : index
      %v229 = arith.muli %t, %c2_ : index
      %v230 = arith.addi %v229, %c1_ : index
      %v231 = arith.muli %v228, %c8_ : index
      %v232 = arith.addi %v231, %v230 : index
      memref.store %v227, %d[%v232] : memref<128xf32>
      gpu.return
    }
    gpu.func @mma_f16_swapped_a_registers(%a: memref<256xf32>, %b: memref<128xf32>, %c: memref<128xf32>, %d: memref<128xf32>) kernel {
      %lane = gpu.thread_id x
      %k4 = arith.constant 4 : index
      %k8 = arith.constant 8 : index
      %k16 = arith.constant 16 : index
      %g = arith.divui %lane, %k4 : index
      %t = arith.remui %lane, %k4 : index
      %c2_ = arith.constant 2 : index
      %v233 = arith.muli %t, %c2_ : index
      %c16_ = arith.constant 16 : index
      %v234 = arith.muli %g, %c16_ : index
      %v235 = arith.addi %v234, %v233 : index
      %v236 = memref.load %a[%v235] : memref<256xf32>
      %v237 = arith.truncf %v236 : f32 to f16
      %v238 = arith.muli %t, %c2_ : index
      %c1_ = arith.constant 1 : index
      %v239 = arith.addi %v238, %c1_ : index
      %v240 = arith.muli %g, %c16_ : index
      %v241 = arith.addi %v240, %v239 : index
      %v242 = memref.load %a[%v241] : memref<256xf32>
      %v243 = arith.truncf %v242 : f32 to f16
      %v244 = arith.muli %t, %c2_ : index
      %c8_ = arith.constant 8 : index
      %v245 = arith.addi %v244, %c8_ : index
      %v246 = arith.muli %g, %c16_ : index
      %v247 = arith.addi %v246, %v245 : index
      %v248 = memref.load %a[%v247] : memref<256xf32>
      %v249 = arith.truncf %v248 : f32 to f16
      %v250 = arith.muli %t, %c2_ : index
      %c9_ = arith.constant 9 : index
      %v251 = arith.addi %v250, %c9_ : index
      %v252 = arith.muli %g, %c16_ : index
      %v253 = arith.addi %v252, %v251 : index
      %v254 = memref.load %a[%v253] : memref<256xf32>
      %v255 = arith.truncf %v254 : f32 to f16
      %v256 = arith.addi %g, %c8_ : index
      %v257 = arith.muli %t, %c2_ : index
      %v258 = arith.muli %v256, %c16_ : index
      %v259 = arith.addi %v258, %v257 : index
      %v260 = memref.load %a[%v259] : memref<256xf32>
      %v261 = arith.truncf %v260 : f32 to f16
      %v262 = arith.addi %g, %c8_ : index
      %v263 = arith.muli %t, %c2_ : index
      %v264 = arith.addi %v263, %c1_ : index
      %v265 = arith.muli %v262, %c16_ : index
      %v266 = arith.addi %v265, %v264 : index
      %v267 = memref.load %a[%v266] : memref<256xf32>
      %v268 = arith.truncf %v267 : f32 to f16
      %v269 = arith.addi %g, %c8_ : index
      %v270 = arith.muli %t, %c2_ : index
      %v271 = arith.addi %v270, %c8_ : index
      %v272 = arith.muli %v269, %c16_ : index
      %v273 = arith.addi %v272, %v271 : index
      %v274 = memref.load %a[%v273] : memref<256xf32>
      %v275 = arith.truncf %v274 : f32 to f16
      %v276 = arith.addi %g, %c8_ : index
      %v277 = arith.muli %t, %c2_ : index
      %v278 = arith.addi %v277, %c9_ : index
      %v279 = arith.muli %v276, %c16_ : index
      %v280 = arith.addi %v279, %v278 : index
      %v281 = memref.load %a[%v280] : memref<256xf32>
      %v282 = arith.truncf %v281 : f32 to f16
      %frag283 = vector.from_elements %v237, %v243, %v249, %v255, %v261, %v268, %v275, %v282 : vector<4x2xf16>
      %v284 = arith.muli %t, %c2_ : index
      %v285 = arith.muli %v284, %c8_ : index
      %v286 = arith.addi %v285, %g : index
      %v287 = memref.load %b[%v286] : memref<128xf32>
      %v288 = arith.truncf %v287 : f32 to f16
      %v289 = arith.muli %t, %c2_ : index
      %v290 = arith.addi %v289, %c1_ : index
      %v291 = arith.muli %v290, %c8_ : index
      %v292 = arith.addi %v291, %g : index
      %v293 = memref.load %b[%v292] : memref<128xf32>
      %v294 = arith.truncf %v293 : f32 to f16
      %v295 = arith.muli %t, %c2_ : index
      %v296 = arith.addi %v295, %c8_ : index
      %v297 = arith.muli %v296, %c8_ : index
      %v298 = arith.addi %v297, %g : index
      %v299 = memref.load %b[%v298] : memref<128xf32>
      %v300 = arith.truncf %v299 : f32 to f16
      %v301 = arith.muli %t, %c2_ : index
      %v302 = arith.addi %v301, %c9_ : index
      %v303 = arith.muli %v302, %c8_ : index
      %v304 = arith.addi %v303, %g : index
      %v305 = memref.load %b[%v304] : memref<128xf32>
      %v306 = arith.truncf %v305 : f32 to f16
      %frag307 = vector.from_elements %v288, %v294, %v300, %v306 : vector<2x2xf16>
      %v308 = arith.muli %t, %c2_ : index
      %v309 = arith.muli %g, %c8_ : index
      %v310 = arith.addi %v309, %v308 : index
      %v311 = memref.load %c[%v310] : memref<128xf32>
      %v312 = arith.muli %t, %c2_ : index
      %v313 = arith.addi %v312, %c1_ : index
      %v314 = arith.muli %g, %c8_ : index
      %v315 = arith.addi %v314, %v313 : index
      %v316 = memref.load %c[%v315] : memref<128xf32>
      %v317 = arith.addi %g, %c8_ : index
      %v318 = arith.muli %t, %c2_ : index
      %v319 = arith.muli %v317, %c8_ : index
      %v320 = arith.addi %v319, %v318 : index
      %v321 = memref.load %c[%v320] : memref<128xf32>
      %v322 = arith.addi %g, %c8_ : index
      %v323 = arith.muli %t, %c2_ : index
      %v324 = arith.addi %v323, %c1_ : index
      %v325 = arith.muli %v322, %c8_ : index
      %v326 = arith.addi %v325, %v324 : index
      %v327 = memref.load %c[%v326] : memref<128xf32>
      %frag328 = vector.from_elements %v311, %v316, %v321, %v327 : vector<2x2xf32>
      %dfrag = nvgpu.mma.sync(%frag283, %frag307, %frag328) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      %v329 = vector.extract %dfrag[0, 0] : f32 from vector<2x2xf32>
      %v330 = arith.muli %t, %c2_ : index
      %v331 = arith.muli %g, %c8_ : index
      %v332 = arith.addi %v331, %v330 : index
      memref.store %v329, %d[%v332] : memref<128xf32>
      %v333 = vector.extract %dfrag[0, 1] : f32 from vector<2x2xf32>
      %v334 = arith.muli %t, %c2_ : index
      %v335 = arith.addi %v334, %c1_ : index
      %v336 = arith.muli %g, %c8_ : index
      %v337 = arith.addi %v336, %v335 : index
      memref.store %v333, %d[%v337] : memref<128xf32>
      %v338 = vector.extract %dfrag[1, 0] : f32 from vector<2x2xf32>
      %v339 = arith.addi %g, %c8_ : index
      %v340 = arith.muli %t, %c2_ : index
      %v341 = arith.muli %v339, %c8_ : index
      %v342 = arith.addi %v341, %v340 : index
      memref.store %v338, %d[%v342] : memref<128xf32>
      %v343 = vector.extract %dfrag[1, 1] : f32 from vector<2x2xf32>
      %v344 = arith.addi %g, %c8_ : index
      %v345 = arith.muli %t, %c2_ : index
      %v346 = arith.addi %v345, %c1_ : index
      %v347 = arith.muli %v344, %c8_ : index
      %v348 = arith.addi %v347, %v346 : index
      memref.store %v343, %d[%v348] : memref<128xf32>
      gpu.return
    }
    gpu.func @mma_bf16(%a: memref<256xf32>, %b: memref<128xf32>, %c: memref<128xf32>, %d: memref<128xf32>) kernel {
      %lane = gpu.thread_id x
      %k4 = arith.constant 4 : index
      %k8 = arith.constant 8 : index
      %k16 = arith.constant 16 : index
      %g = arith.divui %lane, %k4 : index
      %t = arith.remui %lane, %k4 : index
      %c2_ = arith.constant 2 : index
      %v1 = arith.muli %t, %c2_ : index
      %c16_ = arith.constant 16 : index
      %v2 = arith.muli %g, %c16_ : index
      %v3 = arith.addi %v2, %v1 : index
      %v4 = memref.load %a[%v3] : memref<256xf32>
      %v5 = arith.truncf %v4 : f32 to bf16
      %v6 = arith.muli %t, %c2_ : index
      %c1_ = arith.constant 1 : index
      %v7 = arith.addi %v6, %c1_ : index
      %v8 = arith.muli %g, %c16_ : index
      %v9 = arith.addi %v8, %v7 : index
      %v10 = memref.load %a[%v9] : memref<256xf32>
      %v11 = arith.truncf %v10 : f32 to bf16
      %c8_ = arith.constant 8 : index
      %v12 = arith.addi %g, %c8_ : index
      %v13 = arith.muli %t, %c2_ : index
      %v14 = arith.muli %v12, %c16_ : index
      %v15 = arith.addi %v14, %v13 : index
      %v16 = memref.load %a[%v15] : memref<256xf32>
      %v17 = arith.truncf %v16 : f32 to bf16
      %v18 = arith.addi %g, %c8_ : index
      %v19 = arith.muli %t, %c2_ : index
      %v20 = arith.addi %v19, %c1_ : index
      %v21 = arith.muli %v18, %c16_ : index
      %v22 = arith.addi %v21, %v20 : index
      %v23 = memref.load %a[%v22] : memref<256xf32>
      %v24 = arith.truncf %v23 : f32 to bf16
      %v25 = arith.muli %t, %c2_ : index
      %v26 = arith.addi %v25, %c8_ : index
      %v27 = arith.muli %g, %c16_ : index
      %v28 = arith.addi %v27, %v26 : index
      %v29 = memref.load %a[%v28] : memref<256xf32>
      %v30 = arith.truncf %v29 : f32 to bf16
      %v31 = arith.muli %t, %c2_ : index
      %c9_ = arith.constant 9 : index
      %v32 = arith.addi %v31, %c9_ : index
      %v33 = arith.muli %g, %c16_ : index
      %v34 = arith.addi %v33, %v32 : index
      %v35 = memref.load %a[%v34] : memref<256xf32>
      %v36 = arith.truncf %v35 : f32 to bf16
      %v37 = arith.addi %g, %c8_ : index
      %v38 = arith.muli %t, %c2_ : index
      %v39 = arith.addi %v38, %c8_ : index
      %v40 = arith.muli %v37, %c16_ : index
      %v41 = arith.addi %v40, %v39 : index
      %v42 = memref.load %a[%v41] : memref<256xf32>
      %v43 = arith.truncf %v42 : f32 to bf16
      %v44 = arith.addi %g, %c8_ : index
      %v45 = arith.muli %t, %c2_ : index
      %v46 = arith.addi %v45, %c9_ : index
      %v47 = arith.muli %v44, %c16_ : index
      %v48 = arith.addi %v47, %v46 : index
      %v49 = memref.load %a[%v48] : memref<256xf32>
      %v50 = arith.truncf %v49 : f32 to bf16
      %frag51 = vector.from_elements %v5, %v11, %v17, %v24, %v30, %v36, %v43, %v50 : vector<4x2xbf16>
      %v52 = arith.muli %t, %c2_ : index
      %v53 = arith.muli %v52, %c8_ : index
      %v54 = arith.addi %v53, %g : index
      %v55 = memref.load %b[%v54] : memref<128xf32>
      %v56 = arith.truncf %v55 : f32 to bf16
      %v57 = arith.muli %t, %c2_ : index
      %v58 = arith.addi %v57, %c1_ : index
      %v59 = arith.muli %v58, %c8_ : index
      %v60 = arith.addi %v59, %g : index
      %v61 = memref.load %b[%v60] : memref<128xf32>
      %v62 = arith.truncf %v61 : f32 to bf16
      %v63 = arith.muli %t, %c2_ : index
      %v64 = arith.addi %v63, %c8_ : index
      %v65 = arith.muli %v64, %c8_ : index
      %v66 = arith.addi %v65, %g : index
      %v67 = memref.load %b[%v66] : memref<128xf32>
      %v68 = arith.truncf %v67 : f32 to bf16
      %v69 = arith.muli %t, %c2_ : index
      %v70 = arith.addi %v69, %c9_ : index
      %v71 = arith.muli %v70, %c8_ : index
      %v72 = arith.addi %v71, %g : index
      %v73 = memref.load %b[%v72] : memref<128xf32>
      %v74 = arith.truncf %v73 : f32 to bf16
      %frag75 = vector.from_elements %v56, %v62, %v68, %v74 : vector<2x2xbf16>
      %v76 = arith.muli %t, %c2_ : index
      %v77 = arith.muli %g, %c8_ : index
      %v78 = arith.addi %v77, %v76 : index
      %v79 = memref.load %c[%v78] : memref<128xf32>
      %v80 = arith.muli %t, %c2_ : index
      %v81 = arith.addi %v80, %c1_ : index
      %v82 = arith.muli %g, %c8_ : index
      %v83 = arith.addi %v82, %v81 : index
      %v84 = memref.load %c[%v83] : memref<128xf32>
      %v85 = arith.addi %g, %c8_ : index
      %v86 = arith.muli %t, %c2_ : index
      %v87 = arith.muli %v85, %c8_ : index
      %v88 = arith.addi %v87, %v86 : index
      %v89 = memref.load %c[%v88] : memref<128xf32>
      %v90 = arith.addi %g, %c8_ : index
      %v91 = arith.muli %t, %c2_ : index
      %v92 = arith.addi %v91, %c1_ : index
      %v93 = arith.muli %v90, %c8_ : index
      %v94 = arith.addi %v93, %v92 : index
      %v95 = memref.load %c[%v94] : memref<128xf32>
      %frag96 = vector.from_elements %v79, %v84, %v89, %v95 : vector<2x2xf32>
      %dfrag = nvgpu.mma.sync(%frag51, %frag75, %frag96) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
      %v97 = vector.extract %dfrag[0, 0] : f32 from vector<2x2xf32>
      %v98 = arith.muli %t, %c2_ : index
      %v99 = arith.muli %g, %c8_ : index
      %v100 = arith.addi %v99, %v98 : index
      memref.store %v97, %d[%v100] : memref<128xf32>
      %v101 = vector.extract %dfrag[0, 1] : f32 from vector<2x2xf32>
      %v102 = arith.muli %t, %c2_ : index
      %v103 = arith.addi %v102, %c1_ : index
      %v104 = arith.muli %g, %c8_ : index
      %v105 = arith.addi %v104, %v103 : index
      memref.store %v101, %d[%v105] : memref<128xf32>
      %v106 = vector.extract %dfrag[1, 0] : f32 from vector<2x2xf32>
      %v107 = arith.addi %g, %c8_ : index
      %v108 = arith.muli %t, %c2_ : index
      %v109 = arith.muli %v107, %c8_ : index
      %v110 = arith.addi %v109, %v108 : index
      memref.store %v106, %d[%v110] : memref<128xf32>
      %v111 = vector.extract %dfrag[1, 1] : f32 from vector<2x2xf32>
      %v112 = arith.addi %g, %c8_ : index
      %v113 = arith.muli %t, %c2_ : index
      %v114 = arith.addi %v113, %c1_ : index
      %v115 = arith.muli %v112, %c8_ : index
      %v116 = arith.addi %v115, %v114 : index
      memref.store %v111, %d[%v116] : memref<128xf32>
      gpu.return
    }
    gpu.func @mma_bf16_wrong_lane_rows(%a: memref<256xf32>, %b: memref<128xf32>, %c: memref<128xf32>, %d: memref<128xf32>) kernel {
      %lane = gpu.thread_id x
      %k4 = arith.constant 4 : index
      %k8 = arith.constant 8 : index
      %k16 = arith.constant 16 : index
      %g = arith.remui %lane, %k8 : index
      %t = arith.divui %lane, %k8 : index
      %c2_ = arith.constant 2 : index
      %v117 = arith.muli %t, %c2_ : index
      %c16_ = arith.constant 16 : index
      %v118 = arith.muli %g, %c16_ : index
      %v119 = arith.addi %v118, %v117 : index
      %v120 = memref.load %a[%v119] : memref<256xf32>
      %v121 = arith.truncf %v120 : f32 to bf16
      %v122 = arith.muli %t, %c2_ : index
      %c1_ = arith.constant 1 : index
      %v123 = arith.addi %v122, %c1_ : index
      %v124 = arith.muli %g, %c16_ : index
      %v125 = arith.addi %v124, %v123 : index
      %v126 = memref.load %a[%v125] : memref<256xf32>
      %v127 = arith.truncf %v126 : f32 to bf16
      %c8_ = arith.constant 8 : index
      %v128 = arith.addi %g, %c8_ : index
      %v129 = arith.muli %t, %c2_ : index
      %v130 = arith.muli %v128, %c16_ : index
      %v131 = arith.addi %v130, %v129 : index
      %v132 = memref.load %a[%v131] : memref<256xf32>
      %v133 = arith.truncf %v132 : f32 to bf16
      %v134 = arith.addi %g, %c8_ : index
      %v135 = arith.muli %t, %c2_ : index
      %v136 = arith.addi %v135, %c1_ : index
      %v137 = arith.muli %v134, %c16_ : index
      %v138 = arith.addi %v137, %v136 : index
      %v139 = memref.load %a[%v138] : memref<256xf32>
      %v140 = arith.truncf %v139 : f32 to bf16
      %v141 = arith.muli %t, %c2_ : index
      %v142 = arith.addi %v141, %c8_ : index
      %v143 = arith.muli %g, %c16_ : index
      %v144 = arith.addi %v143, %v142 : index
      %v145 = memref.load %a[%v144] : memref<256xf32>
      %v146 = arith.truncf %v145 : f32 to bf16
      %v147 = arith.muli %t, %c2_ : index
      %c9_ = arith.constant 9 : index
      %v148 = arith.addi %v147, %c9_ : index
      %v149 = arith.muli %g, %c16_ : index
      %v150 = arith.addi %v149, %v148 : index
      %v151 = memref.load %a[%v150] : memref<256xf32>
      %v152 = arith.truncf %v151 : f32 to bf16
      %v153 = arith.addi %g, %c8_ : index
      %v154 = arith.muli %t, %c2_ : index
      %v155 = arith.addi %v154, %c8_ : index
      %v156 = arith.muli %v153, %c16_ : index
      %v157 = arith.addi %v156, %v155 : index
      %v158 = memref.load %a[%v157] : memref<256xf32>
      %v159 = arith.truncf %v158 : f32 to bf16
      %v160 = arith.addi %g, %c8_ : index
      %v161 = arith.muli %t, %c2_ : index
      %v162 = arith.addi %v161, %c9_ : index
      %v163 = arith.muli %v160, %c16_ : index
      %v164 = arith.addi %v163, %v162 : index
      %v165 = memref.load %a[%v164] : memref<256xf32>
      %v166 = arith.truncf %v165 : f32 to bf16
      %frag167 = vector.from_elements %v121, %v127, %v133, %v140, %v146, %v152, %v159, %v166 : vector<4x2xbf16>
      %v168 = arith.muli %t, %c2_ : index
      %v169 = arith.muli %v168, %c8_ : index
      %v170 = arith.addi %v169, %g : index
      %v171 = memref.load %b[%v170] : memref<128xf32>
      %v172 = arith.truncf %v171 : f32 to bf16
      %v173 = arith.muli %t, %c2_ : index
      %v174 = arith.addi %v173, %c1_ : index
      %v175 = arith.muli %v174, %c8_ : index
      %v176 = arith.addi %v175, %g : index
      %v177 = memref.load %b[%v176] : memref<128xf32>
      %v178 = arith.truncf %v177 : f32 to bf16
      %v179 = arith.muli %t, %c2_ : index
      %v180 = arith.addi %v179, %c8_ : index
      %v181 = arith.muli %v180, %c8_ : index
      %v182 = arith.addi %v181, %g : index
      %v183 = memref.load %b[%v182] : memref<128xf32>
      %v184 = arith.truncf %v183 : f32 to bf16
      %v185 = arith.muli %t, %c2_ : index
      %v186 = arith.addi %v185, %c9_ : index
      %v187 = arith.muli %v186, %c8_ : index
      %v188 = arith.addi %v187, %g : index
      %v189 = memref.load %b[%v188] : memref<128xf32>
      %v190 = arith.truncf %v189 : f32 to bf16
      %frag191 = vector.from_elements %v172, %v178, %v184, %v190 : vector<2x2xbf16>
      %v192 = arith.muli %t, %c2_ : index
      %v193 = arith.muli %g, %c8_ : index
      %v194 = arith.addi %v193, %v192 : index
      %v195 = memref.load %c[%v194] : memref<128xf32>
      %v196 = arith.muli %t, %c2_ : index
      %v197 = arith.addi %v196, %c1_ : index
      %v198 = arith.muli %g, %c8_ : index
      %v199 = arith.addi %v198, %v197 : index
      %v200 = memref.load %c[%v199] : memref<128xf32>
      %v201 = arith.addi %g, %c8_ : index
      %v202 = arith.muli %t, %c2_ : index
      %v203 = arith.muli %v201, %c8_ : index
      %v204 = arith.addi %v203, %v202 : index
      %v205 = memref.load %c[%v204] : memref<128xf32>
      %v206 = arith.addi %g, %c8_ : index
      %v207 = arith.muli %t, %c2_ : index
      %v208 = arith.addi %v207, %c1_ : index
      %v209 = arith.muli %v206, %c8_ : index
      %v210 = arith.addi %v209, %v208 : index
      %v211 = memref.load %c[%v210] : memref<128xf32>
      %frag212 = vector.from_elements %v195, %v200, %v205, %v211 : vector<2x2xf32>
      %dfrag = nvgpu.mma.sync(%frag167, %frag191, %frag212) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
      %v213 = vector.extract %dfrag[0, 0] : f32 from vector<2x2xf32>
      %v214 = arith.muli %t, %c2_ : index
      %v215 = arith.muli %g, %c8_ : index
      %v216 = arith.addi %v215, %v214 : index
      memref.store %v213, %d[%v216] : memref<128xf32>
      %v217 = vector.extract %dfrag[0, 1] : f32 from vector<2x2xf32>
      %v218 = arith.muli %t, %c2_ : index
      %v219 = arith.addi %v218, %c1_ : index
      %v220 = arith.muli %g, %c8_ : index
      %v221 = arith.addi %v220, %v219 : index
      memref.store %v217, %d[%v221] : memref<128xf32>
      %v222 = vector.extract %dfrag[1, 0] : f32 from vector<2x2xf32>
      %v223 = arith.addi %g, %c8_ : index
      %v224 = arith.muli %t, %c2_ : index
      %v225 = arith.muli %v223, %c8_ : index
      %v226 = arith.addi %v225, %v224 : index
      memref.store %v222, %d[%v226] : memref<128xf32>
      %v227 = vector.extract %dfrag[1, 1] : f32 from vector<2x2xf32>
      %v228 = arith.addi %g, %c8_ : index
      %v229 = arith.muli %t, %c2_ : index
      %v230 = arith.addi %v229, %c1_ : index
      %v231 = arith.muli %v228, %c8_ : index
      %v232 = arith.addi %v231, %v230 : index
      memref.store %v227, %d[%v232] : memref<128xf32>
      gpu.return
    }
    gpu.func @mma_tf32(%a: memref<256xf32>, %b: memref<128xf32>, %c: memref<128xf32>, %d: memref<128xf32>) kernel {
      %lane = gpu.thread_id x
      %k4 = arith.constant 4 : index
      %k8 = arith.constant 8 : index
      %k16 = arith.constant 16 : index
      %g = arith.divui %lane, %k4 : index
      %t = arith.remui %lane, %k4 : index
      %c8_ = arith.constant 8 : index
      %v349 = arith.muli %g, %c8_ : index
      %v350 = arith.addi %v349, %t : index
      %v351 = memref.load %a[%v350] : memref<256xf32>
      %v352 = arith.addi %g, %c8_ : index
      %v353 = arith.muli %v352, %c8_ : index
      %v354 = arith.addi %v353, %t : index
      %v355 = memref.load %a[%v354] : memref<256xf32>
      %c4_ = arith.constant 4 : index
      %v356 = arith.addi %t, %c4_ : index
      %v357 = arith.muli %g, %c8_ : index
      %v358 = arith.addi %v357, %v356 : index
      %v359 = memref.load %a[%v358] : memref<256xf32>
      %v360 = arith.addi %g, %c8_ : index
      %v361 = arith.addi %t, %c4_ : index
      %v362 = arith.muli %v360, %c8_ : index
      %v363 = arith.addi %v362, %v361 : index
      %v364 = memref.load %a[%v363] : memref<256xf32>
      %frag365 = vector.from_elements %v351, %v355, %v359, %v364 : vector<4x1xf32>
      %v366 = arith.muli %t, %c8_ : index
      %v367 = arith.addi %v366, %g : index
      %v368 = memref.load %b[%v367] : memref<128xf32>
      %v369 = arith.addi %t, %c4_ : index
      %v370 = arith.muli %v369, %c8_ : index
      %v371 = arith.addi %v370, %g : index
      %v372 = memref.load %b[%v371] : memref<128xf32>
      %frag373 = vector.from_elements %v368, %v372 : vector<2x1xf32>
      %c2_ = arith.constant 2 : index
      %v374 = arith.muli %t, %c2_ : index
      %v375 = arith.muli %g, %c8_ : index
      %v376 = arith.addi %v375, %v374 : index
      %v377 = memref.load %c[%v376] : memref<128xf32>
      %v378 = arith.muli %t, %c2_ : index
      %c1_ = arith.constant 1 : index
      %v379 = arith.addi %v378, %c1_ : index
      %v380 = arith.muli %g, %c8_ : index
      %v381 = arith.addi %v380, %v379 : index
      %v382 = memref.load %c[%v381] : memref<128xf32>
      %v383 = arith.addi %g, %c8_ : index
      %v384 = arith.muli %t, %c2_ : index
      %v385 = arith.muli %v383, %c8_ : index
      %v386 = arith.addi %v385, %v384 : index
      %v387 = memref.load %c[%v386] : memref<128xf32>
      %v388 = arith.addi %g, %c8_ : index
      %v389 = arith.muli %t, %c2_ : index
      %v390 = arith.addi %v389, %c1_ : index
      %v391 = arith.muli %v388, %c8_ : index
      %v392 = arith.addi %v391, %v390 : index
      %v393 = memref.load %c[%v392] : memref<128xf32>
      %frag394 = vector.from_elements %v377, %v382, %v387, %v393 : vector<2x2xf32>
      %dfrag = nvgpu.mma.sync(%frag365, %frag373, %frag394) {mmaShape = [16, 8, 8], tf32Enabled} : (vector<4x1xf32>, vector<2x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
      %v395 = vector.extract %dfrag[0, 0] : f32 from vector<2x2xf32>
      %v396 = arith.muli %t, %c2_ : index
      %v397 = arith.muli %g, %c8_ : index
      %v398 = arith.addi %v397, %v396 : index
      memref.store %v395, %d[%v398] : memref<128xf32>
      %v399 = vector.extract %dfrag[0, 1] : f32 from vector<2x2xf32>
      %v400 = arith.muli %t, %c2_ : index
      %v401 = arith.addi %v400, %c1_ : index
      %v402 = arith.muli %g, %c8_ : index
      %v403 = arith.addi %v402, %v401 : index
      memref.store %v399, %d[%v403] : memref<128xf32>
      %v404 = vector.extract %dfrag[1, 0] : f32 from vector<2x2xf32>
      %v405 = arith.addi %g, %c8_ : index
      %v406 = arith.muli %t, %c2_ : index
      %v407 = arith.muli %v405, %c8_ : index
      %v408 = arith.addi %v407, %v406 : index
      memref.store %v404, %d[%v408] : memref<128xf32>
      %v409 = vector.extract %dfrag[1, 1] : f32 from vector<2x2xf32>
      %v410 = arith.addi %g, %c8_ : index
      %v411 = arith.muli %t, %c2_ : index
      %v412 = arith.addi %v411, %c1_ : index
      %v413 = arith.muli %v410, %c8_ : index
      %v414 = arith.addi %v413, %v412 : index
      memref.store %v409, %d[%v414] : memref<128xf32>
      gpu.return
    }
    gpu.func @mma_tf32_swapped_b_registers(%a: memref<256xf32>, %b: memref<128xf32>, %c: memref<128xf32>, %d: memref<128xf32>) kernel {
      %lane = gpu.thread_id x
      %k4 = arith.constant 4 : index
      %k8 = arith.constant 8 : index
      %k16 = arith.constant 16 : index
      %g = arith.divui %lane, %k4 : index
      %t = arith.remui %lane, %k4 : index
      %c8_ = arith.constant 8 : index
      %v415 = arith.muli %g, %c8_ : index
      %v416 = arith.addi %v415, %t : index
      %v417 = memref.load %a[%v416] : memref<256xf32>
      %v418 = arith.addi %g, %c8_ : index
      %v419 = arith.muli %v418, %c8_ : index
      %v420 = arith.addi %v419, %t : index
      %v421 = memref.load %a[%v420] : memref<256xf32>
      %c4_ = arith.constant 4 : index
      %v422 = arith.addi %t, %c4_ : index
      %v423 = arith.muli %g, %c8_ : index
      %v424 = arith.addi %v423, %v422 : index
      %v425 = memref.load %a[%v424] : memref<256xf32>
      %v426 = arith.addi %g, %c8_ : index
      %v427 = arith.addi %t, %c4_ : index
      %v428 = arith.muli %v426, %c8_ : index
      %v429 = arith.addi %v428, %v427 : index
      %v430 = memref.load %a[%v429] : memref<256xf32>
      %frag431 = vector.from_elements %v417, %v421, %v425, %v430 : vector<4x1xf32>
      %v432 = arith.addi %t, %c4_ : index
      %v433 = arith.muli %v432, %c8_ : index
      %v434 = arith.addi %v433, %g : index
      %v435 = memref.load %b[%v434] : memref<128xf32>
      %v436 = arith.muli %t, %c8_ : index
      %v437 = arith.addi %v436, %g : index
      %v438 = memref.load %b[%v437] : memref<128xf32>
      %frag439 = vector.from_elements %v435, %v438 : vector<2x1xf32>
      %c2_ = arith.constant 2 : index
      %v440 = arith.muli %t, %c2_ : index
      %v441 = arith.muli %g, %c8_ : index
      %v442 = arith.addi %v441, %v440 : index
      %v443 = memref.load %c[%v442] : memref<128xf32>
      %v444 = arith.muli %t, %c2_ : index
      %c1_ = arith.constant 1 : index
      %v445 = arith.addi %v444, %c1_ : index
      %v446 = arith.muli %g, %c8_ : index
      %v447 = arith.addi %v446, %v445 : index
      %v448 = memref.load %c[%v447] : memref<128xf32>
      %v449 = arith.addi %g, %c8_ : index
      %v450 = arith.muli %t, %c2_ : index
      %v451 = arith.muli %v449, %c8_ : index
      %v452 = arith.addi %v451, %v450 : index
      %v453 = memref.load %c[%v452] : memref<128xf32>
      %v454 = arith.addi %g, %c8_ : index
      %v455 = arith.muli %t, %c2_ : index
      %v456 = arith.addi %v455, %c1_ : index
      %v457 = arith.muli %v454, %c8_ : index
      %v458 = arith.addi %v457, %v456 : index
      %v459 = memref.load %c[%v458] : memref<128xf32>
      %frag460 = vector.from_elements %v443, %v448, %v453, %v459 : vector<2x2xf32>
      %dfrag = nvgpu.mma.sync(%frag431, %frag439, %frag460) {mmaShape = [16, 8, 8], tf32Enabled} : (vector<4x1xf32>, vector<2x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
      %v461 = vector.extract %dfrag[0, 0] : f32 from vector<2x2xf32>
      %v462 = arith.muli %t, %c2_ : index
      %v463 = arith.muli %g, %c8_ : index
      %v464 = arith.addi %v463, %v462 : index
      memref.store %v461, %d[%v464] : memref<128xf32>
      %v465 = vector.extract %dfrag[0, 1] : f32 from vector<2x2xf32>
      %v466 = arith.muli %t, %c2_ : index
      %v467 = arith.addi %v466, %c1_ : index
      %v468 = arith.muli %g, %c8_ : index
      %v469 = arith.addi %v468, %v467 : index
      memref.store %v465, %d[%v469] : memref<128xf32>
      %v470 = vector.extract %dfrag[1, 0] : f32 from vector<2x2xf32>
      %v471 = arith.addi %g, %c8_ : index
      %v472 = arith.muli %t, %c2_ : index
      %v473 = arith.muli %v471, %c8_ : index
      %v474 = arith.addi %v473, %v472 : index
      memref.store %v470, %d[%v474] : memref<128xf32>
      %v475 = vector.extract %dfrag[1, 1] : f32 from vector<2x2xf32>
      %v476 = arith.addi %g, %c8_ : index
      %v477 = arith.muli %t, %c2_ : index
      %v478 = arith.addi %v477, %c1_ : index
      %v479 = arith.muli %v476, %c8_ : index
      %v480 = arith.addi %v479, %v478 : index
      memref.store %v475, %d[%v480] : memref<128xf32>
      gpu.return
    }
    gpu.func @mma_half_warp(%a: memref<256xf32>, %b: memref<128xf32>, %c: memref<128xf32>, %d: memref<128xf32>) kernel {
      %lane = gpu.thread_id x
      %k4 = arith.constant 4 : index
      %k8 = arith.constant 8 : index
      %k16 = arith.constant 16 : index
      %high = arith.cmpi uge, %lane, %k16 : index
      cf.cond_br %high, ^exit, ^body
    ^body:
      %g = arith.divui %lane, %k4 : index
      %t = arith.remui %lane, %k4 : index
      %c2_ = arith.constant 2 : index
      %v481 = arith.muli %t, %c2_ : index
      %c16_ = arith.constant 16 : index
      %v482 = arith.muli %g, %c16_ : index
      %v483 = arith.addi %v482, %v481 : index
      %v484 = memref.load %a[%v483] : memref<256xf32>
      %v485 = arith.truncf %v484 : f32 to f16
      %v486 = arith.muli %t, %c2_ : index
      %c1_ = arith.constant 1 : index
      %v487 = arith.addi %v486, %c1_ : index
      %v488 = arith.muli %g, %c16_ : index
      %v489 = arith.addi %v488, %v487 : index
      %v490 = memref.load %a[%v489] : memref<256xf32>
      %v491 = arith.truncf %v490 : f32 to f16
      %c8_ = arith.constant 8 : index
      %v492 = arith.addi %g, %c8_ : index
      %v493 = arith.muli %t, %c2_ : index
      %v494 = arith.muli %v492, %c16_ : index
      %v495 = arith.addi %v494, %v493 : index
      %v496 = memref.load %a[%v495] : memref<256xf32>
      %v497 = arith.truncf %v496 : f32 to f16
      %v498 = arith.addi %g, %c8_ : index
      %v499 = arith.muli %t, %c2_ : index
      %v500 = arith.addi %v499, %c1_ : index
      %v501 = arith.muli %v498, %c16_ : index
      %v502 = arith.addi %v501, %v500 : index
      %v503 = memref.load %a[%v502] : memref<256xf32>
      %v504 = arith.truncf %v503 : f32 to f16
      %v505 = arith.muli %t, %c2_ : index
      %v506 = arith.addi %v505, %c8_ : index
      %v507 = arith.muli %g, %c16_ : index
      %v508 = arith.addi %v507, %v506 : index
      %v509 = memref.load %a[%v508] : memref<256xf32>
      %v510 = arith.truncf %v509 : f32 to f16
      %v511 = arith.muli %t, %c2_ : index
      %c9_ = arith.constant 9 : index
      %v512 = arith.addi %v511, %c9_ : index
      %v513 = arith.muli %g, %c16_ : index
      %v514 = arith.addi %v513, %v512 : index
      %v515 = memref.load %a[%v514] : memref<256xf32>
      %v516 = arith.truncf %v515 : f32 to f16
      %v517 = arith.addi %g, %c8_ : index
      %v518 = arith.muli %t, %c2_ : index
      %v519 = arith.addi %v518, %c8_ : index
      %v520 = arith.muli %v517, %c16_ : index
      %v521 = arith.addi %v520, %v519 : index
      %v522 = memref.load %a[%v521] : memref<256xf32>
      %v523 = arith.truncf %v522 : f32 to f16
      %v524 = arith.addi %g, %c8_ : index
      %v525 = arith.muli %t, %c2_ : index
      %v526 = arith.addi %v525, %c9_ : index
      %v527 = arith.muli %v524, %c16_ : index
      %v528 = arith.addi %v527, %v526 : index
      %v529 = memref.load %a[%v528] : memref<256xf32>
      %v530 = arith.truncf %v529 : f32 to f16
      %frag531 = vector.from_elements %v485, %v491, %v497, %v504, %v510, %v516, %v523, %v530 : vector<4x2xf16>
      %v532 = arith.muli %t, %c2_ : index
      %v533 = arith.muli %v532, %c8_ : index
      %v534 = arith.addi %v533, %g : index
      %v535 = memref.load %b[%v534] : memref<128xf32>
      %v536 = arith.truncf %v535 : f32 to f16
      %v537 = arith.muli %t, %c2_ : index
      %v538 = arith.addi %v537, %c1_ : index
      %v539 = arith.muli %v538, %c8_ : index
      %v540 = arith.addi %v539, %g : index
      %v541 = memref.load %b[%v540] : memref<128xf32>
      %v542 = arith.truncf %v541 : f32 to f16
      %v543 = arith.muli %t, %c2_ : index
      %v544 = arith.addi %v543, %c8_ : index
      %v545 = arith.muli %v544, %c8_ : index
      %v546 = arith.addi %v545, %g : index
      %v547 = memref.load %b[%v546] : memref<128xf32>
      %v548 = arith.truncf %v547 : f32 to f16
      %v549 = arith.muli %t, %c2_ : index
      %v550 = arith.addi %v549, %c9_ : index
      %v551 = arith.muli %v550, %c8_ : index
      %v552 = arith.addi %v551, %g : index
      %v553 = memref.load %b[%v552] : memref<128xf32>
      %v554 = arith.truncf %v553 : f32 to f16
      %frag555 = vector.from_elements %v536, %v542, %v548, %v554 : vector<2x2xf16>
      %v556 = arith.muli %t, %c2_ : index
      %v557 = arith.muli %g, %c8_ : index
      %v558 = arith.addi %v557, %v556 : index
      %v559 = memref.load %c[%v558] : memref<128xf32>
      %v560 = arith.muli %t, %c2_ : index
      %v561 = arith.addi %v560, %c1_ : index
      %v562 = arith.muli %g, %c8_ : index
      %v563 = arith.addi %v562, %v561 : index
      %v564 = memref.load %c[%v563] : memref<128xf32>
      %v565 = arith.addi %g, %c8_ : index
      %v566 = arith.muli %t, %c2_ : index
      %v567 = arith.muli %v565, %c8_ : index
      %v568 = arith.addi %v567, %v566 : index
      %v569 = memref.load %c[%v568] : memref<128xf32>
      %v570 = arith.addi %g, %c8_ : index
      %v571 = arith.muli %t, %c2_ : index
      %v572 = arith.addi %v571, %c1_ : index
      %v573 = arith.muli %v570, %c8_ : index
      %v574 = arith.addi %v573, %v572 : index
      %v575 = memref.load %c[%v574] : memref<128xf32>
      %frag576 = vector.from_elements %v559, %v564, %v569, %v575 : vector<2x2xf32>
      %dfrag = nvgpu.mma.sync(%frag531, %frag555, %frag576) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      %v577 = vector.extract %dfrag[0, 0] : f32 from vector<2x2xf32>
      %v578 = arith.muli %t, %c2_ : index
      %v579 = arith.muli %g, %c8_ : index
      %v580 = arith.addi %v579, %v578 : index
      memref.store %v577, %d[%v580] : memref<128xf32>
      %v581 = vector.extract %dfrag[0, 1] : f32 from vector<2x2xf32>
      %v582 = arith.muli %t, %c2_ : index
      %v583 = arith.addi %v582, %c1_ : index
      %v584 = arith.muli %g, %c8_ : index
      %v585 = arith.addi %v584, %v583 : index
      memref.store %v581, %d[%v585] : memref<128xf32>
      %v586 = vector.extract %dfrag[1, 0] : f32 from vector<2x2xf32>
      %v587 = arith.addi %g, %c8_ : index
      %v588 = arith.muli %t, %c2_ : index
      %v589 = arith.muli %v587, %c8_ : index
      %v590 = arith.addi %v589, %v588 : index
      memref.store %v586, %d[%v590] : memref<128xf32>
      %v591 = vector.extract %dfrag[1, 1] : f32 from vector<2x2xf32>
      %v592 = arith.addi %g, %c8_ : index
      %v593 = arith.muli %t, %c2_ : index
      %v594 = arith.addi %v593, %c1_ : index
      %v595 = arith.muli %v592, %c8_ : index
      %v596 = arith.addi %v595, %v594 : index
      memref.store %v591, %d[%v596] : memref<128xf32>
      gpu.return
    ^exit:
      gpu.return
    }
    gpu.func @mma_and_shuffle(%a: memref<256xf32>, %b: memref<128xf32>, %c: memref<128xf32>, %d: memref<128xf32>) kernel {
      %lane = gpu.thread_id x
      %k4 = arith.constant 4 : index
      %k8 = arith.constant 8 : index
      %k16 = arith.constant 16 : index
      %high = arith.cmpi uge, %lane, %k16 : index
      cf.cond_br %high, ^exit, ^body
    ^body:
      %g = arith.divui %lane, %k4 : index
      %t = arith.remui %lane, %k4 : index
      %c2_ = arith.constant 2 : index
      %v597 = arith.muli %t, %c2_ : index
      %c16_ = arith.constant 16 : index
      %v598 = arith.muli %g, %c16_ : index
      %v599 = arith.addi %v598, %v597 : index
      %v600 = memref.load %a[%v599] : memref<256xf32>
      %v601 = arith.truncf %v600 : f32 to f16
      %v602 = arith.muli %t, %c2_ : index
      %c1_ = arith.constant 1 : index
      %v603 = arith.addi %v602, %c1_ : index
      %v604 = arith.muli %g, %c16_ : index
      %v605 = arith.addi %v604, %v603 : index
      %v606 = memref.load %a[%v605] : memref<256xf32>
      %v607 = arith.truncf %v606 : f32 to f16
      %c8_ = arith.constant 8 : index
      %v608 = arith.addi %g, %c8_ : index
      %v609 = arith.muli %t, %c2_ : index
      %v610 = arith.muli %v608, %c16_ : index
      %v611 = arith.addi %v610, %v609 : index
      %v612 = memref.load %a[%v611] : memref<256xf32>
      %v613 = arith.truncf %v612 : f32 to f16
      %v614 = arith.addi %g, %c8_ : index
      %v615 = arith.muli %t, %c2_ : index
      %v616 = arith.addi %v615, %c1_ : index
      %v617 = arith.muli %v614, %c16_ : index
      %v618 = arith.addi %v617, %v616 : index
      %v619 = memref.load %a[%v618] : memref<256xf32>
      %v620 = arith.truncf %v619 : f32 to f16
      %v621 = arith.muli %t, %c2_ : index
      %v622 = arith.addi %v621, %c8_ : index
      %v623 = arith.muli %g, %c16_ : index
      %v624 = arith.addi %v623, %v622 : index
      %v625 = memref.load %a[%v624] : memref<256xf32>
      %v626 = arith.truncf %v625 : f32 to f16
      %v627 = arith.muli %t, %c2_ : index
      %c9_ = arith.constant 9 : index
      %v628 = arith.addi %v627, %c9_ : index
      %v629 = arith.muli %g, %c16_ : index
      %v630 = arith.addi %v629, %v628 : index
      %v631 = memref.load %a[%v630] : memref<256xf32>
      %v632 = arith.truncf %v631 : f32 to f16
      %v633 = arith.addi %g, %c8_ : index
      %v634 = arith.muli %t, %c2_ : index
      %v635 = arith.addi %v634, %c8_ : index
      %v636 = arith.muli %v633, %c16_ : index
      %v637 = arith.addi %v636, %v635 : index
      %v638 = memref.load %a[%v637] : memref<256xf32>
      %v639 = arith.truncf %v638 : f32 to f16
      %v640 = arith.addi %g, %c8_ : index
      %v641 = arith.muli %t, %c2_ : index
      %v642 = arith.addi %v641, %c9_ : index
      %v643 = arith.muli %v640, %c16_ : index
      %v644 = arith.addi %v643, %v642 : index
      %v645 = memref.load %a[%v644] : memref<256xf32>
      %v646 = arith.truncf %v645 : f32 to f16
      %frag647 = vector.from_elements %v601, %v607, %v613, %v620, %v626, %v632, %v639, %v646 : vector<4x2xf16>
      %v648 = arith.muli %t, %c2_ : index
      %v649 = arith.muli %v648, %c8_ : index
      %v650 = arith.addi %v649, %g : index
      %v651 = memref.load %b[%v650] : memref<128xf32>
      %v652 = arith.truncf %v651 : f32 to f16
      %v653 = arith.muli %t, %c2_ : index
      %v654 = arith.addi %v653, %c1_ : index
      %v655 = arith.muli %v654, %c8_ : index
      %v656 = arith.addi %v655, %g : index
      %v657 = memref.load %b[%v656] : memref<128xf32>
      %v658 = arith.truncf %v657 : f32 to f16
      %v659 = arith.muli %t, %c2_ : index
      %v660 = arith.addi %v659, %c8_ : index
      %v661 = arith.muli %v660, %c8_ : index
      %v662 = arith.addi %v661, %g : index
      %v663 = memref.load %b[%v662] : memref<128xf32>
      %v664 = arith.truncf %v663 : f32 to f16
      %v665 = arith.muli %t, %c2_ : index
      %v666 = arith.addi %v665, %c9_ : index
      %v667 = arith.muli %v666, %c8_ : index
      %v668 = arith.addi %v667, %g : index
      %v669 = memref.load %b[%v668] : memref<128xf32>
      %v670 = arith.truncf %v669 : f32 to f16
      %frag671 = vector.from_elements %v652, %v658, %v664, %v670 : vector<2x2xf16>
      %v672 = arith.muli %t, %c2_ : index
      %v673 = arith.muli %g, %c8_ : index
      %v674 = arith.addi %v673, %v672 : index
      %v675 = memref.load %c[%v674] : memref<128xf32>
      %v676 = arith.muli %t, %c2_ : index
      %v677 = arith.addi %v676, %c1_ : index
      %v678 = arith.muli %g, %c8_ : index
      %v679 = arith.addi %v678, %v677 : index
      %v680 = memref.load %c[%v679] : memref<128xf32>
      %v681 = arith.addi %g, %c8_ : index
      %v682 = arith.muli %t, %c2_ : index
      %v683 = arith.muli %v681, %c8_ : index
      %v684 = arith.addi %v683, %v682 : index
      %v685 = memref.load %c[%v684] : memref<128xf32>
      %v686 = arith.addi %g, %c8_ : index
      %v687 = arith.muli %t, %c2_ : index
      %v688 = arith.addi %v687, %c1_ : index
      %v689 = arith.muli %v686, %c8_ : index
      %v690 = arith.addi %v689, %v688 : index
      %v691 = memref.load %c[%v690] : memref<128xf32>
      %frag692 = vector.from_elements %v675, %v680, %v685, %v691 : vector<2x2xf32>
      %dfrag = nvgpu.mma.sync(%frag647, %frag671, %frag692) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      %v693 = vector.extract %dfrag[0, 0] : f32 from vector<2x2xf32>
      %v694 = arith.muli %t, %c2_ : index
      %v695 = arith.muli %g, %c8_ : index
      %v696 = arith.addi %v695, %v694 : index
      memref.store %v693, %d[%v696] : memref<128xf32>
      %v697 = vector.extract %dfrag[0, 1] : f32 from vector<2x2xf32>
      %v698 = arith.muli %t, %c2_ : index
      %v699 = arith.addi %v698, %c1_ : index
      %v700 = arith.muli %g, %c8_ : index
      %v701 = arith.addi %v700, %v699 : index
      memref.store %v697, %d[%v701] : memref<128xf32>
      %v702 = vector.extract %dfrag[1, 0] : f32 from vector<2x2xf32>
      %v703 = arith.addi %g, %c8_ : index
      %v704 = arith.muli %t, %c2_ : index
      %v705 = arith.muli %v703, %c8_ : index
      %v706 = arith.addi %v705, %v704 : index
      memref.store %v702, %d[%v706] : memref<128xf32>
      %v707 = vector.extract %dfrag[1, 1] : f32 from vector<2x2xf32>
      %v708 = arith.addi %g, %c8_ : index
      %v709 = arith.muli %t, %c2_ : index
      %v710 = arith.addi %v709, %c1_ : index
      %v711 = arith.muli %v708, %c8_ : index
      %v712 = arith.addi %v711, %v710 : index
      memref.store %v707, %d[%v712] : memref<128xf32>
      gpu.return
    ^exit:
      %w32 = arith.constant 32 : i32
      %o1 = arith.constant 1 : i32
      %x = arith.constant 1.0 : f32
      %s, %p = gpu.shuffle xor %x, %o1, %w32 : f32
      memref.store %s, %d[%lane] : memref<128xf32>
      gpu.return
    }
  }

  func.func private @kiln_emu_check() -> i64

  // Pseudo-random values in [-0.5, 0.5).
  func.func @fill(%m: memref<?xf32>, %seed: i64) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %n = memref.dim %m, %c0 : memref<?xf32>
    %mul = arith.constant 2654435761 : i64
    %mod = arith.constant 1000 : i64
    %scale = arith.constant 1.0e-3 : f32
    %half = arith.constant 0.5 : f32
    scf.for %i = %c0 to %n step %c1 {
      %ii = arith.index_cast %i : index to i64
      %x = arith.addi %ii, %seed : i64
      %h = arith.muli %x, %mul : i64
      %h2 = arith.shrui %h, %seed : i64
      %r = arith.remui %h2, %mod : i64
      %f = arith.uitofp %r : i64 to f32
      %g = arith.mulf %f, %scale : f32
      %v = arith.subf %g, %half : f32
      memref.store %v, %m[%i] : memref<?xf32>
    }
    return
  }

  // D = A * B + C by host loops: A is 16 x K (row stride K), B is K x 8,
  // C and D 16 x 8; operands rounded to f16 when %round, to bf16 when
  // %roundbf, products and sums in f32, k ascending.
  func.func @reference(%a: memref<256xf32>, %b: memref<128xf32>, %c: memref<128xf32>,
                       %d: memref<128xf32>, %k: index, %round: i1, %roundbf: i1) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %c16 = arith.constant 16 : index
    scf.for %m = %c0 to %c16 step %c1 {
      scf.for %n = %c0 to %c8 step %c1 {
        %mn0 = arith.muli %m, %c8 : index
        %mn = arith.addi %mn0, %n : index
        %init = memref.load %c[%mn] : memref<128xf32>
        %sum = scf.for %kk = %c0 to %k step %c1 iter_args(%acc = %init) -> f32 {
          %ai0 = arith.muli %m, %k : index
          %ai = arith.addi %ai0, %kk : index
          %bi0 = arith.muli %kk, %c8 : index
          %bi = arith.addi %bi0, %n : index
          %x = memref.load %a[%ai] : memref<256xf32>
          %y = memref.load %b[%bi] : memref<128xf32>
          %xh = arith.truncf %x : f32 to f16
          %yh = arith.truncf %y : f32 to f16
          %xr = arith.extf %xh : f16 to f32
          %yr = arith.extf %yh : f16 to f32
          %xb = arith.truncf %x : f32 to bf16
          %yb = arith.truncf %y : f32 to bf16
          %xbr = arith.extf %xb : bf16 to f32
          %ybr = arith.extf %yb : bf16 to f32
          %xs0 = arith.select %round, %xr, %x : f32
          %ys0 = arith.select %round, %yr, %y : f32
          %xs = arith.select %roundbf, %xbr, %xs0 : f32
          %ys = arith.select %roundbf, %ybr, %ys0 : f32
          %p = arith.mulf %xs, %ys : f32
          %s = arith.addf %acc, %p : f32
          scf.yield %s : f32
        }
        memref.store %sum, %d[%mn] : memref<128xf32>
      }
    }
    return
  }

  // Elements differing by more than 1e-4.
  func.func @mismatches(%x: memref<128xf32>, %y: memref<128xf32>) -> i64 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c128 = arith.constant 128 : index
    %zero = arith.constant 0 : i64
    %one = arith.constant 1 : i64
    %tol = arith.constant 1.0e-4 : f32
    %n = scf.for %i = %c0 to %c128 step %c1 iter_args(%acc = %zero) -> i64 {
      %u = memref.load %x[%i] : memref<128xf32>
      %v = memref.load %y[%i] : memref<128xf32>
      %diff = arith.subf %u, %v : f32
      %ad = math.absf %diff : f32
      %ok = arith.cmpf ole, %ad, %tol : f32
      %inc = arith.select %ok, %zero, %one : i64
      %next = arith.addi %acc, %inc : i64
      scf.yield %next : i64
    }
    return %n : i64
  }

  func.func @report(%name: i64, %d: memref<128xf32>, %ref: memref<128xf32>) {
    %m = func.call @mismatches(%d, %ref) : (memref<128xf32>, memref<128xf32>) -> i64
    vector.print %m : i64
    %e = func.call @kiln_emu_check() : () -> i64
    vector.print str "emulation errors: "
    vector.print %e : i64
    return
  }

  func.func @clear(%d: memref<128xf32>) {
    %nan = arith.constant 0x7FC00000 : f32
    linalg.fill ins(%nan : f32) outs(%d : memref<128xf32>)
    return
  }

  func.func @main() {
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %c16 = arith.constant 16 : index
    %c32 = arith.constant 32 : index
    %true = arith.constant true
    %false = arith.constant false
    %tag = arith.constant 0 : i64
    %a = memref.alloc() : memref<256xf32>
    %b = memref.alloc() : memref<128xf32>
    %c = memref.alloc() : memref<128xf32>
    %d = memref.alloc() : memref<128xf32>
    %ref16 = memref.alloc() : memref<128xf32>
    %refbf = memref.alloc() : memref<128xf32>
    %ref32 = memref.alloc() : memref<128xf32>
    %ad = memref.cast %a : memref<256xf32> to memref<?xf32>
    %bd = memref.cast %b : memref<128xf32> to memref<?xf32>
    %cd = memref.cast %c : memref<128xf32> to memref<?xf32>
    %s1 = arith.constant 3 : i64
    %s2 = arith.constant 5 : i64
    %s3 = arith.constant 11 : i64
    func.call @fill(%ad, %s1) : (memref<?xf32>, i64) -> ()
    func.call @fill(%bd, %s2) : (memref<?xf32>, i64) -> ()
    func.call @fill(%cd, %s3) : (memref<?xf32>, i64) -> ()
    func.call @reference(%a, %b, %c, %ref16, %c16, %true, %false)
        : (memref<256xf32>, memref<128xf32>, memref<128xf32>, memref<128xf32>, index, i1, i1) -> ()
    func.call @reference(%a, %b, %c, %refbf, %c16, %false, %true)
        : (memref<256xf32>, memref<128xf32>, memref<128xf32>, memref<128xf32>, index, i1, i1) -> ()
    func.call @reference(%a, %b, %c, %ref32, %c8, %false, %false)
        : (memref<256xf32>, memref<128xf32>, memref<128xf32>, memref<128xf32>, index, i1, i1) -> ()

    func.call @clear(%d) : (memref<128xf32>) -> ()
    gpu.launch_func @kernels::@mma_f16 blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%a : memref<256xf32>, %b : memref<128xf32>, %c : memref<128xf32>, %d : memref<128xf32>)
    vector.print str "m16n8k16 f16: "
    func.call @report(%tag, %d, %ref16) : (i64, memref<128xf32>, memref<128xf32>) -> ()

    func.call @clear(%d) : (memref<128xf32>) -> ()
    gpu.launch_func @kernels::@mma_f16_wrong_lane_rows blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%a : memref<256xf32>, %b : memref<128xf32>, %c : memref<128xf32>, %d : memref<128xf32>)
    vector.print str "m16n8k16 f16, groupID = lane % 8: "
    func.call @report(%tag, %d, %ref16) : (i64, memref<128xf32>, memref<128xf32>) -> ()

    func.call @clear(%d) : (memref<128xf32>) -> ()
    gpu.launch_func @kernels::@mma_f16_swapped_a_registers blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%a : memref<256xf32>, %b : memref<128xf32>, %c : memref<128xf32>, %d : memref<128xf32>)
    vector.print str "m16n8k16 f16, a1 and a2 swapped: "
    func.call @report(%tag, %d, %ref16) : (i64, memref<128xf32>, memref<128xf32>) -> ()

    func.call @clear(%d) : (memref<128xf32>) -> ()
    gpu.launch_func @kernels::@mma_bf16 blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%a : memref<256xf32>, %b : memref<128xf32>, %c : memref<128xf32>, %d : memref<128xf32>)
    vector.print str "m16n8k16 bf16: "
    func.call @report(%tag, %d, %refbf) : (i64, memref<128xf32>, memref<128xf32>) -> ()
    vector.print str "m16n8k16 bf16 against the f16 reference: "
    func.call @report(%tag, %d, %ref16) : (i64, memref<128xf32>, memref<128xf32>) -> ()

    func.call @clear(%d) : (memref<128xf32>) -> ()
    gpu.launch_func @kernels::@mma_bf16_wrong_lane_rows blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%a : memref<256xf32>, %b : memref<128xf32>, %c : memref<128xf32>, %d : memref<128xf32>)
    vector.print str "m16n8k16 bf16, groupID = lane % 8: "
    func.call @report(%tag, %d, %refbf) : (i64, memref<128xf32>, memref<128xf32>) -> ()

    func.call @clear(%d) : (memref<128xf32>) -> ()
    gpu.launch_func @kernels::@mma_tf32 blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%a : memref<256xf32>, %b : memref<128xf32>, %c : memref<128xf32>, %d : memref<128xf32>)
    vector.print str "m16n8k8 tf32: "
    func.call @report(%tag, %d, %ref32) : (i64, memref<128xf32>, memref<128xf32>) -> ()

    func.call @clear(%d) : (memref<128xf32>) -> ()
    gpu.launch_func @kernels::@mma_tf32_swapped_b_registers blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%a : memref<256xf32>, %b : memref<128xf32>, %c : memref<128xf32>, %d : memref<128xf32>)
    vector.print str "m16n8k8 tf32, b0 and b1 swapped: "
    func.call @report(%tag, %d, %ref32) : (i64, memref<128xf32>, memref<128xf32>) -> ()

    gpu.launch_func @kernels::@mma_half_warp blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%a : memref<256xf32>, %b : memref<128xf32>, %c : memref<128xf32>, %d : memref<128xf32>)
    %e = func.call @kiln_emu_check() : () -> i64
    vector.print str "mma.sync by half a warp: "
    vector.print %e : i64

    gpu.launch_func @kernels::@mma_and_shuffle blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%a : memref<256xf32>, %b : memref<128xf32>, %c : memref<128xf32>, %d : memref<128xf32>)
    %e2 = func.call @kiln_emu_check() : () -> i64
    vector.print str "mma.sync by half a warp, shuffle by the other half: "
    vector.print %e2 : i64
    return
  }
}
