#!/bin/bash
# Thirty-second run (eleventh session, the first on an AVX-512 machine: Intel Xeon, 2 vCPUs):
# W1 (mlp), W2 (bn), W3 (transfer) at 1 and 2 threads: Strata (3 epochs; STRATA_GEMM=crate as
# well when BOTH=1), burn-flex default and built with its `avx512` feature (x86-v4 GEMM), and
# PyTorch (1 warm-up + 3 epochs; its mlp run also prints the W4 line); Strata's W4; Keras
# (model.fit, and direct model(x) for W4) when KERAS=1. Alternating, ROUNDS rounds.
# BIN is a copy of target/release/examples/benchmark; PY a python with torch and tensorflow.
# EPOCHS (default 3; 4 from the twelfth session's run 45 on, the peers' 1 + 3) sets Strata's.
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=${OUT:-/tmp/run32.txt}
BIN=${BIN:-/tmp/bench-run32}
PY=${PY:-/opt/peers-venv/bin/python}
PEERS=${PEERS:-/work/shared/bench/peers}
P=/tmp/rust-peers-target/release
P4=/tmp/rust-peers-target-v4/release
: > $OUT
for round in $(seq 1 ${ROUNDS:-3}); do
  for w in mlp bn transfer; do
    for t in 1 2; do
      export RAYON_NUM_THREADS=$t MATMUL_NUM_THREADS=$t OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t
      echo "round=$round strata $($BIN --workload $w --threads $t --epochs ${EPOCHS:-3} | tail -1)" >> $OUT
      if [ "${BOTH:-0}" = 1 ]; then
        echo "round=$round strata-crate $(STRATA_GEMM=crate $BIN --workload $w --threads $t --epochs ${EPOCHS:-3} | tail -1)" >> $OUT
      fi
      $P/burn-bench --backend flex --workload $w --threads $t 2>/dev/null | grep '^{' | sed "s/^/round=$round /" >> $OUT
      $P4/burn-bench --backend flex --workload $w --threads $t 2>/dev/null | grep '^{' | sed "s/\"peer\": \"burn-flex\"/\"peer\": \"burn-flex-avx512\"/; s/^/round=$round /" >> $OUT
      $PY $PEERS/torch_bench.py --workload $w --threads $t 2>/dev/null | grep '^{' | sed "s/^/round=$round /" >> $OUT
      if [ "${KERAS:-0}" = 1 ]; then
        $PY $PEERS/keras_bench.py --workload $w --threads $t 2>/dev/null | grep '^{' | sed "s/^/round=$round /" >> $OUT
      fi
      if [ $w = mlp ]; then
        echo "round=$round strata $($BIN --workload infer --threads $t --epochs 1 | tail -1)" >> $OUT
      fi
    done
  done
done
echo DONE >> $OUT
