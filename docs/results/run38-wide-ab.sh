OUT=/tmp/run38.txt; : > $OUT
for r in 1 2 3; do for w in mlp bn; do for t in 1 2; do for v in wide prev prev wide; do
  if [ $v = wide ]; then B=/tmp/bench-wide; else B=/tmp/bench-run32; fi
  echo "round=$r variant=$v $($B --workload $w --threads $t --epochs 3 | tail -1)" >> $OUT
done; done; done; done; echo DONE >> $OUT
