#!/bin/bash
# Run 24 (ninth session): FitOptions::splitting, adaptive (fit's default) against always (the
# behaviour before it), W3 and W1 at 2 threads in ABBA order, and each at 1 thread once per
# round, for reference. BIN is a copy of target/release/examples/benchmark.
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=${OUT:-/tmp/run24.txt}
BIN=${BIN:-/tmp/bench-run24}
: > $OUT
for round in $(seq 1 ${ROUNDS:-8}); do
  for w in transfer mlp; do
    for s in adaptive always always adaptive; do
      echo "round=$round splitting=$s $(RAYON_NUM_THREADS=2 $BIN --workload $w --threads 2 --epochs 3 --splitting $s | tail -1)" >> $OUT
    done
    echo "round=$round threads1 $(RAYON_NUM_THREADS=1 $BIN --workload $w --threads 1 --epochs 3 | tail -1)" >> $OUT
  done
done
echo DONE >> $OUT
