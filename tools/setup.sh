#!/usr/bin/env bash
# setup.sh: install what ssdc needs to build and test on a fresh Debian
# machine (bookworm).  Idempotent: skips apt when everything is present.
set -euo pipefail
need=()
for pkg in build-essential cmake flex bison clang libclang-rt-14-dev python3; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
