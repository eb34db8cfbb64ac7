#!/bin/bash
# Fourth run: Strata (this session's fused SGD), Strata before it (base), burn-flex; interleaved.
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=/tmp/run4.txt
S=/work/main/target/release/examples/benchmark
A=/tmp/base-target/release/examples/benchmark
P=/tmp/rust-peers-target/release
: > $OUT
for round in 1 2 3; do
  for w in mlp bn transfer; do
    for t in 1 2; do
      export RAYON_NUM_THREADS=$t MATMUL_NUM_THREADS=$t OMP_NUM_THREADS=$t
      echo "round=$round strata $($S --workload $w --threads $t --epochs 4 | tail -1)" >> $OUT
      if [ $w != transfer ]; then echo "round=$round base $($A --workload $w --threads $t --epochs 4 | tail -1)" >> $OUT; fi
      $P/burn-bench --backend flex --workload $w --threads $t 2>/dev/null | grep '^{' | grep -v '"infer"' | sed "s/^/round=$round /" >> $OUT
    done
  done
done
echo DONE >> $OUT
