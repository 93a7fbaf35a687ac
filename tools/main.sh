#!/usr/bin/env bash
# main.sh: the README's main job.  Sets up a fresh machine, builds ssdc and
# runs it on the built-in default: a mamba2-130m-shaped model with seeded
# random weights (no downloads).  Extra arguments go to `ssdc demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh build
exec build/ssdc demo "$@"
