#!/bin/bash
# Seventeenth run (seventh session): GEMM GFLOP/s of numpy/OpenBLAS, the gemm and
# matrixmultiply crates (gemm-bench) and Strata (criterion gemm/ group, then gemm_shapes),
# back to back at 1 and 2 threads, twice. Run from the repository root after
# `cargo bench --bench kernels --no-run` and `cargo build --release --example gemm_shapes`.
OUT=${OUT:-/tmp/run17-gemm.txt}
P=/tmp/rust-peers-target/release
: > $OUT
for round in 1 2; do
  for t in 1 2; do
    export RAYON_NUM_THREADS=$t MATMUL_NUM_THREADS=$t OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t
    echo "== round $round numpy t=$t" >> $OUT
    /opt/kvenv/bin/python ../shared/bench/peers/gemm_bench.py --lib numpy --threads $t >> $OUT 2>&1
    echo "== round $round gemm-bench t=$t" >> $OUT
    $P/gemm-bench --threads $t >> $OUT 2>&1
    echo "== round $round strata criterion t=$t" >> $OUT
    cargo bench --bench kernels -- 'gemm/' --warm-up-time 1 --measurement-time 2 --output-format bencher 2>/dev/null | grep '^test' >> $OUT
    echo "== round $round strata gemm_shapes t=$t" >> $OUT
    target/release/examples/gemm_shapes --threads $t --rounds 20 >> $OUT
  done
done
echo DONE >> $OUT
