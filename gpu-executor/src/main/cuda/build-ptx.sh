#!/usr/bin/env bash
# Regenerates the PTX of every .cu here into the resources, with the SHA-256 of its source beside
# it (PtxUpToDateTest fails when a source changes without this being rerun).
# Run from the module folder: bash src/main/cuda/build-ptx.sh   (or mvn -Pptx generate-resources)
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=src/main/resources/io/moeplan/executor/cuda
mkdir -p "$out"
for cu in src/main/cuda/*.cu; do
  name=$(basename "$cu" .cu)
  nvcc -ptx -arch=compute_90 -O3 -o "$out/$name.ptx" "$cu"
  sha256sum "$cu" | cut -d' ' -f1 > "$out/$name.cu.sha256"
  echo "generated $out/$name.ptx"
done
