#!/usr/bin/env bash
# In-process GEMM comparison with OpenBLAS (the copy numpy's wheel ships), see
# openblas-probe/src/main.rs. Usage: VENV=/opt/kvenv ROUNDS=5 OUT=file bash run28-openblas.sh [SHAPE...]
# Needs a venv with numpy (python3 -m venv $VENV && $VENV/bin/pip install numpy).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VENV=${VENV:-/opt/kvenv}
ROUNDS=${ROUNDS:-5}
OUT=${OUT:-/dev/stdout}
export OPENBLAS_DIR=$(ls -d "$VENV"/lib/python3*/site-packages/numpy.libs)
lib=$(ls "$OPENBLAS_DIR"/libscipy_openblas64_*.so | head -1)
export OPENBLAS_LIB=$(basename "$lib" .so | sed 's/^lib//')
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/probe-target}
(cd "$here/openblas-probe" && cargo build --release -q)
shapes=("$@")
if [ ${#shapes[@]} -eq 0 ]; then
  shapes=(1024x1024x1024 512x512x512 256x784x300 32x784x300 784x32x300:tn 32x300x784:nt)
fi
{
  echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  for t in 1 2; do
    RAYON_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t KERNELS=${KERNELS:-crate,packed} \
      "$CARGO_TARGET_DIR/release/openblas-probe" "$ROUNDS" "${shapes[@]}"
  done
} | tee "$OUT"
