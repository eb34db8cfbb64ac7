#!/bin/bash
# Twelfth run (sixth session): W1 with each optimizer, the build before the vectorized update
# kernels (old, df3fa23 with this session's benchmark.rs) against the build with them (new),
# interleaved, at 1 and 2 threads, three rounds.
export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
OUT=${OUT:-/tmp/run12.txt}
OLD=${OLD:-/tmp/bench-opt-old}
NEW=${NEW:-/tmp/bench-opt-new}
: > $OUT
for round in 1 2 3; do
  for t in 1 2; do
    export RAYON_NUM_THREADS=$t
    for o in sgd momentum nesterov adagrad rmsprop adam adamax nadam adamw; do
      if [ $((round % 2)) = 1 ]; then order="old new"; else order="new old"; fi
      for b in $order; do
        bin=$OLD; [ $b = new ] && bin=$NEW
        echo "round=$round build=$b $($bin --workload mlp --threads $t --epochs 2 --optimizer $o | tail -1)" >> $OUT
      done
    done
  done
done
echo DONE >> $OUT
