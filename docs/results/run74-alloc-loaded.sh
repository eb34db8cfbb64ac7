#!/bin/bash
# Seventy-fourth run (eighteenth session): the allocation test (crates/models/tests/allocations.rs)
# with both cores loaded by busy loops, alternating the test binary built before the scratch
# reservation (OLD, 076c82f) and after it (NEW). Prints each failing run's per-step counts and
# the failures of each binary. Build each with
#   cargo test --release -p strata --test allocations --no-run
# and pass the executables cargo prints as OLD and NEW.
OUT=${OUT:-/tmp/run74.txt}
RUNS=${RUNS:-30}
LOADERS=${LOADERS:-2}
: > $OUT
for j in $(seq 1 $LOADERS); do sh -c 'while :; do :; done' & done
trap 'kill $(jobs -p) 2>/dev/null' EXIT
sleep 1
old_fails=0; new_fails=0
for i in $(seq 1 $RUNS); do
  for which in OLD NEW; do
    bin=${!which}
    if ! $bin -q > /tmp/run74-one.txt 2>&1; then
      echo "run $i $which: $(grep -o 'allocations per step: .*' /tmp/run74-one.txt)" >> $OUT
      if [ $which = OLD ]; then old_fails=$((old_fails+1)); else new_fails=$((new_fails+1)); fi
    fi
  done
done
echo "loaders=$LOADERS runs=$RUNS old_failed=$old_fails new_failed=$new_fails" >> $OUT
