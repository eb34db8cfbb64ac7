#!/bin/bash
# Eleventh run (sixth session): the same benchmark binary with the gemm crate for every
# product (default) and with STRATA_GEMM=own (hand-written kernel up to 8M multiply-adds),
# W1/W2/W3 at 1 and 2 threads, in ABBA order within each round, plus burn-flex at both
# thread counts each round. BIN is a copy of target/release/examples/benchmark.
# The sixteenth run (seventh session, item 20) is this script with
#   VARIANT=direct BASE=default ROUNDS=6 OUT=/tmp/run16.txt BIN=/tmp/bench-run16
# (the default build against the same binary with STRATA_GEMM=direct).
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=${OUT:-/tmp/run11.txt}
BIN=${BIN:-/tmp/bench-run11}
VARIANT=${VARIANT:-own}   # the STRATA_GEMM value of the B side
BASE=${BASE:-crate}       # the label of the A side (no STRATA_GEMM)
P=/tmp/rust-peers-target/release
ROUNDS=${ROUNDS:-8}
: > $OUT
one() { # kernel workload threads round
  if [ $1 = $VARIANT ]; then
    STRATA_GEMM=$VARIANT $BIN --workload $2 --threads $3 --epochs 3 > $OUT.one
  else
    $BIN --workload $2 --threads $3 --epochs 3 > $OUT.one
  fi
  echo "round=$4 kernel=$1 $(tail -1 $OUT.one)" >> $OUT
}
for round in $(seq 1 $ROUNDS); do
  for t in 1 2; do
    export RAYON_NUM_THREADS=$t MATMUL_NUM_THREADS=$t OMP_NUM_THREADS=$t
    for w in mlp bn transfer; do
      if [ $((round % 2)) = 1 ]; then order="$BASE $VARIANT $VARIANT $BASE"; else order="$VARIANT $BASE $BASE $VARIANT"; fi
      for kern in $order; do one $kern $w $t $round; done
      if [ -x $P/burn-bench ]; then
        $P/burn-bench --backend flex --workload $w --threads $t 2>/dev/null | grep '^{' | sed "s/^/round=$round /" >> $OUT
      fi
    done
  done
done
echo DONE >> $OUT
