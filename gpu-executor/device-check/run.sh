#!/usr/bin/env bash
# The device check, run on the GPU machine from the repository root:
#   bash gpu-executor/device-check/run.sh [--quick]
# with gpu-executor/device-check/dist carried (built by prepare.sh). Checks every CUDA kernel
# against the CPU reference on fresh random inputs, then times the expert FFN and a layer step.
# Logs go to $OUT (or device-check/out); the summary table is printed last.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="${OUT:-$here/out}"
mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
if [ ! -x "$here/dist/jre/bin/java" ]; then
  echo "missing $here/dist: run prepare.sh here and carry gpu-executor/device-check/dist" >&2
  exit 2
fi
"$here/dist/jre/bin/java" -Xmx32g -cp "$here/dist/lib/*" io.moeplan.executor.cuda.DeviceCheck \
  "$out" "$@" 2>&1 | tee "$out/stdout.log"
exit "${PIPESTATUS[0]}"
