#!/bin/bash
# Run 40 (eleventh session): whole runs at 2 threads, one block per thread on AVX-512 (new,
# /tmp/bench-ppt) against two (old, /tmp/bench-wide), ABBA, ROUNDS rounds.
OUT=${OUT:-/tmp/run40.txt}; : > $OUT
for r in $(seq 1 ${ROUNDS:-2}); do for w in mlp bn transfer infer; do for v in new old old new; do
  if [ $v = new ]; then B=/tmp/bench-ppt; else B=/tmp/bench-wide; fi
  echo "round=$r variant=$v $($B --workload $w --threads 2 --epochs 3 | tail -1)" >> $OUT
done; done; done; echo DONE >> $OUT
