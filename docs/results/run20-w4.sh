#!/bin/bash
# Twentieth run (eighth session, main at f0cc8be): W4 side by side, Strata (`benchmark
# --workload infer`, 1 epoch of training first), Keras (`keras_bench.py --workload mlp`, whose
# infer line has predict() at batch 32 and 10,000 and the direct call on one 10,000 batch) and
# burn-flex (its mlp workload's infer line), at 1 and 2 threads, three rounds. BIN is a copy of
# target/release/examples/benchmark.
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=${OUT:-/tmp/run20-w4.txt}
BIN=${BIN:-/tmp/bench-run20}
P=/tmp/rust-peers-target/release
K="/opt/kvenv/bin/python ../shared/bench/peers/keras_bench.py"
: > $OUT
for round in $(seq 1 ${ROUNDS:-3}); do
  for t in 2 1; do
    export RAYON_NUM_THREADS=$t MATMUL_NUM_THREADS=$t OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t
    echo "round=$round strata $($BIN --workload infer --threads $t --epochs 1 | tail -1)" >> $OUT
    $K --workload mlp --threads $t 2>/dev/null | grep '"infer"' | sed "s/^/round=$round /" >> $OUT
    $P/burn-bench --backend flex --workload mlp --threads $t 2>/dev/null | grep '"infer"' | sed "s/^/round=$round /" >> $OUT
  done
done
echo DONE >> $OUT
