;; Hand-written kernels for Z_2^64 (every i64 op wraps mod 2^64, which is exactly ring arithmetic).
;; Memory is imported so JS can create, grow and view it; all pointers are byte offsets, 8-aligned.
;; Assembled at build time by scripts/build-wasm.mjs (wabt) into ring-wasm.generated.ts.
;; Each kernel has a plain TypeScript reference in ../kernels.ts and a test comparing the two.
(module
  (import "env" "memory" (memory 1))

  ;; out[i] = a[i] + b[i]
  (func (export "add") (param $out i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 3))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (i64.store (local.get $out) (i64.add (i64.load (local.get $a)) (i64.load (local.get $b))))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $a (i32.add (local.get $a) (i32.const 8)))
        (local.set $b (i32.add (local.get $b) (i32.const 8)))
        (br $l))))

  ;; out[i] = a[i] - b[i]
  (func (export "sub") (param $out i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 3))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (i64.store (local.get $out) (i64.sub (i64.load (local.get $a)) (i64.load (local.get $b))))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $a (i32.add (local.get $a) (i32.const 8)))
        (local.set $b (i32.add (local.get $b) (i32.const 8)))
        (br $l))))

  ;; out[i] = a[i] * b[i]
  (func (export "mul") (param $out i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 3))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (i64.store (local.get $out) (i64.mul (i64.load (local.get $a)) (i64.load (local.get $b))))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $a (i32.add (local.get $a) (i32.const 8)))
        (local.set $b (i32.add (local.get $b) (i32.const 8)))
        (br $l))))

  ;; out[i] = a[i] >> s (arithmetic shift: floor division by 2^s of the signed value)
  (func (export "shr_s") (param $out i32) (param $a i32) (param $n i32) (param $s i32)
    (local $end i32) (local $sh i64)
    (local.set $sh (i64.extend_i32_u (local.get $s)))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 3))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (i64.store (local.get $out) (i64.shr_s (i64.load (local.get $a)) (local.get $sh)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $a (i32.add (local.get $a) (i32.const 8)))
        (br $l))))

  ;; Dot product of n elements at p and q, two accumulators (breaks the add dependency chain).
  (func $dot (param $p i32) (param $q i32) (param $n i32) (result i64)
    (local $s0 i64) (local $s1 i64) (local $end2 i32) (local $end i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 3))))
    (local.set $end2 (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $end2)))
        (local.set $s0 (i64.add (local.get $s0) (i64.mul (i64.load (local.get $p)) (i64.load (local.get $q)))))
        (local.set $s1 (i64.add (local.get $s1)
          (i64.mul (i64.load offset=8 (local.get $p)) (i64.load offset=8 (local.get $q)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br $l)))
    (if (i32.lt_u (local.get $p) (local.get $end))
      (then (local.set $s0 (i64.add (local.get $s0) (i64.mul (i64.load (local.get $p)) (i64.load (local.get $q)))))))
    (i64.add (local.get $s0) (local.get $s1)))

  ;; "NT" product: out[k][j] = sum_i x[k][i] * w[j][i]   (k < K, j < rows, i < cols)
  ;; w rows are `wstride` elements apart (a growing cache keeps spare capacity per row);
  ;; x rows are `cols` apart; out rows are `rows` apart. Each w row is reused for all K vectors
  ;; while it is hot in L1.
  (func (export "matmul_nt") (param $out i32) (param $x i32) (param $w i32)
        (param $K i32) (param $rows i32) (param $cols i32) (param $wstride i32)
    (local $j i32) (local $k i32) (local $wrow i32) (local $xrow i32)
    (local.set $j (i32.const 0))
    (block $jd
      (loop $jl
        (br_if $jd (i32.ge_u (local.get $j) (local.get $rows)))
        (local.set $wrow (i32.add (local.get $w) (i32.shl (i32.mul (local.get $j) (local.get $wstride)) (i32.const 3))))
        (local.set $k (i32.const 0))
        (block $kd
          (loop $kl
            (br_if $kd (i32.ge_u (local.get $k) (local.get $K)))
            (local.set $xrow (i32.add (local.get $x) (i32.shl (i32.mul (local.get $k) (local.get $cols)) (i32.const 3))))
            (i64.store
              (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $rows)) (local.get $j)) (i32.const 3)))
              (call $dot (local.get $wrow) (local.get $xrow) (local.get $cols)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $kl)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jl))))

  ;; "NN" product: out[k][j] = sum_i x[k][i] * w[i][j]   (w is cols x rows, row stride `wstride`)
  ;; Axpy form, used where the fixed operand is stored input-major: four x rows at a time share each
  ;; pass over w (a large w, such as an embedding table, streams from memory K/4 times, not K times;
  ;; the four output rows stay in cache), then the rows left over one by one. Same sums, same order.
  (func (export "matmul_nn") (param $out i32) (param $x i32) (param $w i32)
        (param $K i32) (param $rows i32) (param $cols i32) (param $wstride i32)
    (local $k i32)
    (local.set $k (i32.const 0))
    (block $qd
      (loop $ql
        (br_if $qd (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $K)))
        (call $nn_rows4 (local.get $out) (local.get $x) (local.get $w) (local.get $k)
          (local.get $rows) (local.get $cols) (local.get $wstride))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $ql)))
    (block $kd
      (loop $kl
        (br_if $kd (i32.ge_u (local.get $k) (local.get $K)))
        (call $nn_row (local.get $out) (local.get $x) (local.get $w) (local.get $k)
          (local.get $rows) (local.get $cols) (local.get $wstride))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $kl))))

  ;; Row k of the NN product.
  (func $nn_row (param $out i32) (param $x i32) (param $w i32) (param $k i32)
        (param $rows i32) (param $cols i32) (param $wstride i32)
    (local $i i32) (local $xi i64) (local $orow i32) (local $wrow i32) (local $o i32) (local $end i32)
    (local.set $orow (i32.add (local.get $out) (i32.shl (i32.mul (local.get $k) (local.get $rows)) (i32.const 3))))
    (local.set $end (i32.add (local.get $orow) (i32.shl (local.get $rows) (i32.const 3))))
    (memory.fill (local.get $orow) (i32.const 0) (i32.shl (local.get $rows) (i32.const 3)))
    (local.set $i (i32.const 0))
    (block $id
      (loop $il
        (br_if $id (i32.ge_u (local.get $i) (local.get $cols)))
        (local.set $xi (i64.load (i32.add (local.get $x)
          (i32.shl (i32.add (i32.mul (local.get $k) (local.get $cols)) (local.get $i)) (i32.const 3)))))
        (local.set $wrow (i32.add (local.get $w) (i32.shl (i32.mul (local.get $i) (local.get $wstride)) (i32.const 3))))
        (local.set $o (local.get $orow))
        (block $jd
          (loop $jl
            (br_if $jd (i32.ge_u (local.get $o) (local.get $end)))
            (i64.store (local.get $o) (i64.add (i64.load (local.get $o)) (i64.mul (local.get $xi) (i64.load (local.get $wrow)))))
            (local.set $o (i32.add (local.get $o) (i32.const 8)))
            (local.set $wrow (i32.add (local.get $wrow) (i32.const 8)))
            (br $jl)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $il))))

  ;; Rows k .. k+3 of the NN product: each element of w is loaded once for the four rows.
  (func $nn_rows4 (param $out i32) (param $x i32) (param $w i32) (param $k i32)
        (param $rows i32) (param $cols i32) (param $wstride i32)
    (local $i i32) (local $x0 i64) (local $x1 i64) (local $x2 i64) (local $x3 i64) (local $wv i64)
    (local $o i32) (local $end i32) (local $wrow i32) (local $xrow i32) (local $rb i32) (local $cb i32)
    (local $r2 i32) (local $r3 i32)
    (local.set $rb (i32.shl (local.get $rows) (i32.const 3)))
    (local.set $r2 (i32.shl (local.get $rb) (i32.const 1)))
    (local.set $r3 (i32.add (local.get $r2) (local.get $rb)))
    (local.set $cb (i32.shl (local.get $cols) (i32.const 3)))
    (local.set $o (i32.add (local.get $out) (i32.mul (local.get $k) (local.get $rb))))
    (memory.fill (local.get $o) (i32.const 0) (i32.shl (local.get $rb) (i32.const 2)))
    (local.set $xrow (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $cb))))
    (local.set $i (i32.const 0))
    (block $id
      (loop $il
        (br_if $id (i32.ge_u (local.get $i) (local.get $cols)))
        (local.set $x0 (i64.load (local.get $xrow)))
        (local.set $x1 (i64.load (i32.add (local.get $xrow) (local.get $cb))))
        (local.set $x2 (i64.load (i32.add (local.get $xrow) (i32.shl (local.get $cb) (i32.const 1)))))
        (local.set $x3 (i64.load (i32.add (local.get $xrow) (i32.mul (local.get $cb) (i32.const 3)))))
        (local.set $wrow (i32.add (local.get $w) (i32.shl (i32.mul (local.get $i) (local.get $wstride)) (i32.const 3))))
        (local.set $o (i32.add (local.get $out) (i32.mul (local.get $k) (local.get $rb))))
        (local.set $end (i32.add (local.get $o) (local.get $rb)))
        (block $jd
          (loop $jl
            (br_if $jd (i32.ge_u (local.get $o) (local.get $end)))
            (local.set $wv (i64.load (local.get $wrow)))
            (i64.store (local.get $o) (i64.add (i64.load (local.get $o)) (i64.mul (local.get $x0) (local.get $wv))))
            (i64.store (i32.add (local.get $o) (local.get $rb))
              (i64.add (i64.load (i32.add (local.get $o) (local.get $rb))) (i64.mul (local.get $x1) (local.get $wv))))
            (i64.store (i32.add (local.get $o) (local.get $r2))
              (i64.add (i64.load (i32.add (local.get $o) (local.get $r2)))
                (i64.mul (local.get $x2) (local.get $wv))))
            (i64.store (i32.add (local.get $o) (local.get $r3))
              (i64.add (i64.load (i32.add (local.get $o) (local.get $r3)))
                (i64.mul (local.get $x3) (local.get $wv))))
            (local.set $o (i32.add (local.get $o) (i32.const 8)))
            (local.set $wrow (i32.add (local.get $wrow) (i32.const 8)))
            (br $jl)))
        (local.set $xrow (i32.add (local.get $xrow) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $il))))
)
