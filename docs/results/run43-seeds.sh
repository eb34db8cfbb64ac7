#!/bin/bash
# Forty-third run (twelfth session): validation accuracy of W1 (mlp) and W2 (bn) after 4
# epochs for seeds 1-5 and 42, Strata (`benchmark --epochs 4 --seed N`), PyTorch and Keras
# (their benchmark scripts with `--seed N`), 1 thread (Strata gives the same bits on 2). Accuracy only: the times printed are
# not comparable (run while other work used the machine).
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=${OUT:-/tmp/run43.txt}
BIN=${BIN:-/tmp/bench-acc}
PY=${PY:-/opt/peers-venv/bin/python}
PEERS=${PEERS:-/work/shared/bench/peers}
export RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
: > $OUT
for w in ${WORKLOADS:-bn mlp}; do
  for seed in 1 2 3 4 5 42; do
    echo "seed=$seed strata $($BIN --workload $w --threads 1 --epochs 4 --seed $seed | tail -1)" >> $OUT
    $PY $PEERS/torch_bench.py --workload $w --threads 1 --seed $seed 2>/dev/null | grep '^{' | sed "s/^/seed=$seed /" >> $OUT
    $PY $PEERS/keras_bench.py --workload $w --threads 1 --seed $seed 2>/dev/null | grep '^{' | sed "s/^/seed=$seed /" >> $OUT
  done
done
echo DONE >> $OUT
