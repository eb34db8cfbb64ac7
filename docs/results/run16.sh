#!/bin/bash
# Sixteenth run (seventh session): the default build (batch-16/32 products through the
# column-major scratch path, item 20) against the same binary with STRATA_GEMM=direct (the
# crate writing row-major C, the previous default), W1/W2/W3 at 1 and 2 threads, ABBA order
# within each round, plus burn-flex at both thread counts each round. BIN is a copy of
# target/release/examples/benchmark.
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=${OUT:-/tmp/run16.txt}
BIN=${BIN:-/tmp/bench-run16}
P=/tmp/rust-peers-target/release
ROUNDS=${ROUNDS:-6}
: > $OUT
one() { # kernel workload threads round
  if [ $1 = direct ]; then
    STRATA_GEMM=direct $BIN --workload $2 --threads $3 --epochs 3 > /tmp/run16-one.txt
  else
    $BIN --workload $2 --threads $3 --epochs 3 > /tmp/run16-one.txt
  fi
  echo "round=$4 kernel=$1 $(tail -1 /tmp/run16-one.txt)" >> $OUT
}
for round in $(seq 1 $ROUNDS); do
  for t in 1 2; do
    export RAYON_NUM_THREADS=$t MATMUL_NUM_THREADS=$t OMP_NUM_THREADS=$t
    for w in mlp bn transfer; do
      if [ $((round % 2)) = 1 ]; then order="default direct direct default"; else order="direct default default direct"; fi
      for kern in $order; do one $kern $w $t $round; done
      if [ -x $P/burn-bench ]; then
        $P/burn-bench --backend flex --workload $w --threads $t 2>/dev/null | grep '^{' | sed "s/^/round=$round /" >> $OUT
      fi
    done
  done
done
echo DONE >> $OUT
