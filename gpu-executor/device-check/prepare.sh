#!/usr/bin/env bash
# Builds what the device check carries to the GPU machine, here (no GPU needed):
#   gpu-executor/device-check/dist/lib   the executor jar with its dependencies (JCuda + natives)
#   gpu-executor/device-check/dist/jre   a jlink'ed Java runtime (the GPU machine has no java)
# and makes git ignore dist/ through .git/info/exclude. Usage: bash gpu-executor/device-check/prepare.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dist="$here/dist"
cd "$root"

mvn -B -q -o -pl gpu-executor -am -DskipTests install
rm -rf "$dist"
mkdir -p "$dist/lib"
cp gpu-executor/target/moeplan-gpu-executor-*.jar "$dist/lib/"
mvn -B -q -o -pl gpu-executor dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$dist/lib"

modules=$(jdeps --print-module-deps --ignore-missing-deps -cp "$dist/lib/*" "$dist"/lib/*.jar)
jlink --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=2 \
  --output "$dist/jre"

exclude=$(git rev-parse --git-path info/exclude)
for ignored in /gpu-executor/device-check/dist/ /gpu-executor/device-check/out/; do
  grep -qxF "$ignored" "$exclude" || echo "$ignored" >> "$exclude"
done

"$dist/jre/bin/java" -version
"$dist/jre/bin/java" -cp "$dist/lib/*" io.moeplan.executor.cuda.DeviceCheck "$here/out-local" --quick \
  || echo "(no CUDA device here: the check itself runs on the GPU machine)"
rm -rf "$here/out-local"
du -sh "$dist"
size=$(du -sm "$dist" | cut -f1)
if [ "$size" -ge 60 ]; then
  echo "dist is ${size} MiB: too large to carry (64 MiB with the whole working tree)" >&2
  exit 1
fi
