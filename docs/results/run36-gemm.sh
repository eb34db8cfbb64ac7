#!/bin/bash
# Run 36 (eleventh session, AVX-512 machine): GEMM GFLOP/s of numpy/OpenBLAS, PyTorch (oneMKL), the gemm and
# matrixmultiply crates (gemm-bench) and Strata (criterion gemm/ group), back to back at 1
# and 2 threads, twice. Run from the repository root after `cargo bench --bench kernels
# --no-run`. NUMPY_PY: a python with numpy and threadpoolctl; TORCH_PY: one with torch
# (the PyPI wheel; `pip install torch` pulls its CUDA runtime wheels, unused here).
OUT=${OUT:-/tmp/run36-gemm.txt}
NUMPY_PY=${NUMPY_PY:-/opt/peers-venv/bin/python}
TORCH_PY=${TORCH_PY:-/opt/peers-venv/bin/python}
P4=/tmp/rust-peers-target-v4/release
P=/tmp/rust-peers-target/release
: > $OUT
for round in $(seq 1 ${ROUNDS:-2}); do
  for t in ${THREADS:-1 2}; do
    export RAYON_NUM_THREADS=$t MATMUL_NUM_THREADS=$t OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t MKL_NUM_THREADS=$t
    echo "== round $round numpy t=$t" >> $OUT
    $NUMPY_PY ../shared/bench/peers/gemm_bench.py --lib numpy --threads $t >> $OUT 2>&1
    echo "== round $round torch t=$t" >> $OUT
    $TORCH_PY ../shared/bench/peers/gemm_bench.py --lib torch --threads $t >> $OUT 2>&1
    echo "== round $round gemm-bench t=$t" >> $OUT
    $P/gemm-bench --threads $t >> $OUT 2>&1
    echo "== round $round gemm-bench-v4 (gemm x86-v4, matrixmultiply avx512) t=$t" >> $OUT
    $P4/gemm-bench --threads $t >> $OUT 2>&1
    echo "== round $round strata criterion t=$t" >> $OUT
    cargo bench --bench kernels -- 'gemm/' --warm-up-time 1 --measurement-time 2 --output-format bencher 2>/dev/null | grep '^test' >> $OUT
  done
done
echo DONE >> $OUT
