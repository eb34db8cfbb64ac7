#!/bin/bash
# Sixth run: W1 and W3, Strata (HEAD) and burn-flex, three interleaved rounds.
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=/tmp/run6.txt
S=/work/main/target/release/examples/benchmark
P=/tmp/rust-peers-target/release
: > $OUT
for round in 1 2 3; do
  for w in mlp transfer; do
    for t in 1 2; do
      export RAYON_NUM_THREADS=$t MATMUL_NUM_THREADS=$t OMP_NUM_THREADS=$t
      echo "round=$round strata $($S --workload $w --threads $t --epochs 4 | tail -1)" >> $OUT
      $P/burn-bench --backend flex --workload $w --threads $t 2>/dev/null | grep '^{' | grep -v '"infer"' | sed "s/^/round=$round /" >> $OUT
    done
  done
done
echo DONE >> $OUT
