#!/bin/bash
# Thirty-first run (tenth session): W1 (mlp), W2 (bn) and W3 (transfer) at 1 and 2 threads,
# Strata (3 epochs), burn-flex (its 4) and PyTorch (torch_bench.py, 1 warm-up + 3 epochs;
# its mlp run also prints the W4 inference line), and Strata's W4, alternating, ROUNDS
# rounds. BIN is a copy of target/release/examples/benchmark; TORCH_PY a python with torch.
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=${OUT:-/tmp/run31.txt}
BIN=${BIN:-/tmp/bench-run31}
TORCH_PY=${TORCH_PY:-/opt/tvenv/bin/python}
P=/tmp/rust-peers-target/release
: > $OUT
for round in $(seq 1 ${ROUNDS:-4}); do
  for w in mlp bn transfer; do
    for t in 1 2; do
      export RAYON_NUM_THREADS=$t MATMUL_NUM_THREADS=$t OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t
      echo "round=$round strata $($BIN --workload $w --threads $t --epochs 3 | tail -1)" >> $OUT
      $P/burn-bench --backend flex --workload $w --threads $t 2>/dev/null | grep '^{' | sed "s/^/round=$round /" >> $OUT
      $TORCH_PY ../shared/bench/peers/torch_bench.py --workload $w --threads $t 2>/dev/null | grep '^{' | sed "s/^/round=$round /" >> $OUT
      if [ $w = mlp ]; then
        echo "round=$round strata $($BIN --workload infer --threads $t --epochs 1 | tail -1)" >> $OUT
      fi
    done
  done
done
echo DONE >> $OUT
