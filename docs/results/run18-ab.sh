#!/bin/bash
# usage: ab.sh BIN_A BIN_B workload threads rounds [envB]
A=$1; B=$2; W=$3; T=$4; R=$5; EB=$6
export RAYON_NUM_THREADS=$T FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
for r in $(seq 1 $R); do
  if [ $((r%2)) = 1 ]; then order="A B B A"; else order="B A A B"; fi
  for x in $order; do
    if [ $x = A ]; then out=$($A --workload $W --threads $T --epochs 3 | tail -1); else out=$(env $EB $B --workload $W --threads $T --epochs 3 | tail -1); fi
    echo "round=$r v=$x $out"
  done
done
