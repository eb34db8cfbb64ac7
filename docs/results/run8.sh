#!/bin/bash
# Eighth run: W2 (batch normalization), the allocation-free build (new) against the previous
# main (old, 8f01fec) and burn-flex, three interleaved rounds at 1 and 2 threads.
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=${OUT:-/tmp/run8.txt}
OLD=${OLD:-/tmp/bench-old}
NEW=${NEW:-/tmp/bench-new}
P=/tmp/rust-peers-target/release
: > $OUT
for round in 1 2 3; do
  for t in 1 2; do
    export RAYON_NUM_THREADS=$t MATMUL_NUM_THREADS=$t OMP_NUM_THREADS=$t
    for b in old new; do
      bin=$OLD; [ $b = new ] && bin=$NEW
      $bin --workload bn --threads $t --epochs 3 > /tmp/run8-one.txt
      echo "round=$round build=$b $(grep allocations_per_step /tmp/run8-one.txt) $(tail -1 /tmp/run8-one.txt)" >> $OUT
    done
    $P/burn-bench --backend flex --workload bn --threads $t 2>/dev/null | grep '^{' | sed "s/^/round=$round /" >> $OUT
  done
done
echo DONE >> $OUT
