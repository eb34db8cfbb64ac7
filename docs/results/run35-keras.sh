#!/bin/bash
# Run 35 (eleventh session, AVX-512 machine): Keras 3 (model.fit W1, and W4 by predict and by
# a direct model(x) call) against Strata's W1 and W4, at 1 and 2 threads, ROUNDS rounds.
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=${OUT:-/tmp/run35.txt}
BIN=${BIN:-/tmp/bench-run32}
PY=${PY:-/opt/peers-venv/bin/python}
PEERS=${PEERS:-/work/shared/bench/peers}
: > $OUT
for round in $(seq 1 ${ROUNDS:-1}); do
  for t in 1 2; do
    export RAYON_NUM_THREADS=$t OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t
    echo "round=$round strata $($BIN --workload mlp --threads $t --epochs 3 | tail -1)" >> $OUT
    echo "round=$round strata $($BIN --workload infer --threads $t --epochs 1 | tail -1)" >> $OUT
    $PY $PEERS/keras_bench.py --workload mlp --threads $t 2>/dev/null | grep '^{' | sed "s/^/round=$round /" >> $OUT
  done
done
echo DONE >> $OUT
