#!/usr/bin/env bash
# golden_ir.sh TOOL SRCDIR check|update
# Dumps every models/*.ssd through the pass pipeline and diffs (check) or
# rewrites (update) tests/golden_ir/.  Per model: the final IR; for mamba2
# also --seqlen 1 (decode), --seqlen 65536 (long prefill) and --after
# elaborate.  TOOL is `ssdc` or the test build's ssdc_pass_tool (same
# check/dump entry points).  Regenerate with tools/update_golden_ir.sh and
# review the diff before committing it.
set -u
tool=$1 src=$2 mode=${3:-check}
gold=$src/tests/golden_ir
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
one() { # NAME MODEL ARGS...
  local name=$1 model=$2
  shift 2
  if ! "$tool" dump "$model" "$@" >"$tmp/$name" 2>"$tmp/$name.err"; then
    echo "FAIL: dump $model $* exited nonzero:"; cat "$tmp/$name.err"; fail=1; return
  fi
  if [ "$mode" = update ]; then
    cp "$tmp/$name" "$gold/$name"; echo "wrote tests/golden_ir/$name"
  elif [ ! -f "$gold/$name" ]; then
    echo "FAIL: tests/golden_ir/$name missing (run tools/update_golden_ir.sh)"; fail=1
  elif ! diff -u "$gold/$name" "$tmp/$name" >"$tmp/$name.diff"; then
    echo "FAIL: $name differs from its golden dump:"; head -40 "$tmp/$name.diff"; fail=1
  fi
}
shopt -s nullglob
models=("$src"/models/*.ssd)
[ ${#models[@]} -gt 0 ] || { echo "FAIL: no models/*.ssd"; exit 1; }
for m in "${models[@]}"; do
  b=$(basename "$m" .ssd)
  one "$b.txt" "$m"
  if [ "$b" = mamba2 ]; then
    one "$b.seqlen1.txt" "$m" --seqlen 1
    one "$b.seqlen65536.txt" "$m" --seqlen 65536
    one "$b.after-elaborate.txt" "$m" --after elaborate
  fi
done
[ $fail = 0 ] && [ "$mode" = check ] && echo "golden IR: ${#models[@]} model(s) match"
exit $fail
