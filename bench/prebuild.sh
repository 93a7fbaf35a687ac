#!/usr/bin/env bash
# prebuild.sh: build, on a machine with flex/bison, the binaries bench/gpu.sh
# runs on the device from SSDC_PREBUILT (the device image may lack the
# frontend's generators), into .prebuilt/ (ignored; carry it with the call).
set -euo pipefail
cd "$(dirname "$0")/.."
CC=gcc tools/build.sh build
mkdir -p .prebuilt
cp build/ssdc build/tests/test_ops_gpu build/tests/test_gpu_golden build/tests/test_gpu_graph .prebuilt/
