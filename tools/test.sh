#!/usr/bin/env bash
# test.sh: the README's test command (and what CI runs).  Sets up a fresh
# machine, then builds and runs the CPU test suite three ways:
#   1. gcc, -Werror, RelWithDebInfo       (ctest -L cpu)
#   2. clang, ASan + UBSan                (ctest -L cpu; emulated kernels too)
#   3. clang libFuzzer targets, bounded   (ctest -L fuzz)
# GPU tests (label gpu) run on a GPU machine through bench/gpu.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
jobs=$(nproc)

echo "== gcc build and tests"
CC=gcc tools/build.sh build
ctest --test-dir build -L cpu --output-on-failure -j"$jobs"

echo "== clang ASan+UBSan build and tests"
CC=clang tools/build.sh build-asan -DSSDC_SANITIZE=ON
# The emulated device's kernels (tests emu_*) are sanitized too: compiled by
# clang++ with ASan/UBSan, they use the host's runtime, so an access past a
# device buffer inside a kernel is reported like the host's own.  At -O1
# (with the kernels' unroll hints left out, codegen/cg_emu.c): clang takes
# ~1.5-10 s per kernel there against ~0.3-1 s at -O0, but the kernels run 3x
# faster, and running is what the sanitized emu tests spend their time on
# (session 35: emu_graph 421 s cold at -O1 against 695 s at -O0; emu_ssd
# 2.8x as many cases done in its first 200 s).
SSDC_EMU_CXX=clang++ SSDC_EMU_CXXFLAGS="-O1 -fsanitize=address,undefined -fno-sanitize=function,vptr" \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L cpu --output-on-failure -j"$jobs"

echo "== clang libFuzzer runs (bounded)"
CC=clang tools/build.sh build-fuzz -DSSDC_FUZZ=ON -DSSDC_SANITIZE=ON
ctest --test-dir build-fuzz -L fuzz --output-on-failure
