#!/usr/bin/env bash
# prebuild.sh [DEST]: build, on a machine with flex/bison, the binaries that
# bench/gpu.sh runs on the device from SSDC_PREBUILT (the device image may
# lack the frontend's generators), into DEST (default .prebuilt/, ignored;
# carry it with the call).  A relative DEST is taken from the repo root.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-.prebuilt}
CC=gcc tools/build.sh build
mkdir -p "$dest"
cp build/ssdc build/tests/test_ops_gpu build/tests/test_gpu_golden build/tests/test_gpu_graph \
  build/tests/test_ssd_gpu build/tests/bench_ssd_gpu "$dest/"
