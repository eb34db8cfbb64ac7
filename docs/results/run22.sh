#!/bin/bash
# Twenty-second run (eighth session, main at 224e49f, after item 22): W1 and W3 at 1 and 2 threads, Strata
# (3 epochs) and burn-flex (its 4), alternating, six rounds. BIN is a copy of
# target/release/examples/benchmark.
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=${OUT:-/tmp/run22.txt}
BIN=${BIN:-/tmp/bench-run22}
P=/tmp/rust-peers-target/release
: > $OUT
for round in $(seq 1 ${ROUNDS:-6}); do
  for w in mlp transfer; do
    for t in 1 2; do
      export RAYON_NUM_THREADS=$t MATMUL_NUM_THREADS=$t OMP_NUM_THREADS=$t
      echo "round=$round kernel=default $($BIN --workload $w --threads $t --epochs 3 | tail -1)" >> $OUT
      $P/burn-bench --backend flex --workload $w --threads $t 2>/dev/null | grep '^{' | sed "s/^/round=$round /" >> $OUT
    done
  done
done
echo DONE >> $OUT
