#!/bin/bash
# Seventh run: the allocation-free step (new) against the previous main (old, 8f01fec),
# W1 and W3, interleaved pairs at 1 and 2 threads; then the same against burn-flex.
# OLD and NEW are benchmark binaries built from the two commits.
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=${OUT:-/tmp/run7.txt}
OLD=${OLD:-/tmp/bench-old}
NEW=${NEW:-/tmp/bench-new}
P=/tmp/rust-peers-target/release
: > $OUT
for round in 1 2 3 4 5; do
  for t in 1 2; do
    export RAYON_NUM_THREADS=$t MATMUL_NUM_THREADS=$t OMP_NUM_THREADS=$t
    for w in mlp transfer; do
      for b in old new; do
        bin=$OLD; [ $b = new ] && bin=$NEW
        $bin --workload $w --threads $t --epochs 3 > /tmp/run7-one.txt
        echo "round=$round build=$b $(grep allocations_per_step /tmp/run7-one.txt) $(tail -1 /tmp/run7-one.txt)" >> $OUT
      done
    done
    if [ -x $P/burn-bench ]; then
      for w in mlp transfer; do
        $P/burn-bench --backend flex --workload $w --threads $t 2>/dev/null | grep '^{' | grep -v '"infer"' | sed "s/^/round=$round /" >> $OUT
      done
    fi
  done
done
echo DONE >> $OUT
