#!/bin/bash
# Run 33 (eleventh session, AVX-512 machine): whole runs of W1-W4 with the AVX-512 kernel chosen by
# GemmKernel::for_product (default) against STRATA_GEMM=crate (the crate for every product),
# at 1 and 2 threads, ABBA order, ROUNDS rounds. BIN is a release build of the benchmark
# example. The two variants round differently, so accuracies may differ in the last digits.
BIN=${BIN:-target/release/examples/benchmark}
OUT=${OUT:-/tmp/run33.txt}
ROUNDS=${ROUNDS:-3}
: > "$OUT"
for r in $(seq 1 "$ROUNDS"); do
  for w in mlp bn transfer infer; do
    for t in 1 2; do
      for v in own512 crate crate own512; do
        if [ $v = crate ]; then e=crate; else e=; fi
        line=$(STRATA_GEMM=$e "$BIN" --workload $w --threads $t --epochs 3 2>/dev/null | grep '^workload=' | tail -1)
        echo "round=$r variant=$v $line" >> "$OUT"
      done
    done
  done
done
echo DONE >> "$OUT"
