#!/usr/bin/env bash
# update_golden_ir.sh [BUILD_DIR]: regenerate tests/golden_ir/ from the
# current pass pipeline (after an intended IR change), then review with
# `git diff tests/golden_ir`.  Builds the pass tool in BUILD_DIR (default
# build-golden) without the runtime or codegen.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-golden}
cmake -S "$src" -B "$build" >/dev/null
cmake --build "$build" --target ssdc_pass_tool -j2 >/dev/null
exec bash "$src/tests/passes/golden_ir.sh" "$build/tests/ssdc_pass_tool" "$src" update
