#!/usr/bin/env bash
# cli_errors.sh TOOL SRCDIR: `check`/`dump` on good and bad input.  Bad
# input must give a clear message and a nonzero exit, never a crash; a
# shape error in a model file must point at its FILE:LINE:COL.
set -u
tool=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() { # WANT_RC PATTERN ARGS... : exit status and a pattern in stdout+stderr
  local want=$1 pat=$2
  shift 2
  "$tool" "$@" >"$tmp/out" 2>&1
  local rc=$?
  if [ $rc -ne "$want" ] || ! grep -q -- "$pat" "$tmp/out"; then
    echo "FAIL: $* -> rc $rc (want $want), output lacks '$pat':"; head -20 "$tmp/out"; fail=1
  fi
}
m2=$src/models/mamba2.ssd
expect 0 "ok" check "$src"/models/*.ssd
expect 0 "usage: ssdc dump" dump --help
expect 2 "usage: ssdc dump" dump
expect 2 "unknown pass 'bogus'" dump "$m2" --after bogus
expect 2 "text or dot" dump "$m2" --format xml
expect 2 "positive integer" dump "$m2" --seqlen 0
expect 2 "missing value" dump "$m2" --seqlen
expect 2 "unknown option" dump "$m2" --frobnicate
expect 1 "cannot open" dump "$src/models/does-not-exist.ssd"
expect 0 "cluster_f0_g1" dump "$m2" --format dot --set n_layer=2
expect 0 "form@L=1=recurrent" dump "$m2" --seqlen 1 --set n_layer=1
expect 0 "f32\[batch,seqlen,conv_dim\]" dump "$m2" --dump-after=shapes --set n_layer=1
printf 'flops = 1e12\nbogus_key = 3\n' >"$tmp/cost.txt"
expect 1 "unknown cost-model key 'bogus_key'" dump "$m2" --cost-model "$tmp/cost.txt"
# A cheap scan makes every length recurrent: the cost model really steers.
printf 'scan_flops = 1e30\nstep_latency = 1e-30\n' >"$tmp/cost.txt"
expect 0 "forms\[L>\*: recurrent\]" dump "$m2" --set n_layer=1 --cost-model "$tmp/cost.txt"
SSDC_COST_MODEL="$tmp/cost.txt" expect 0 "forms\[L>\*: recurrent\]" dump "$m2" --set n_layer=1
# A wrong conv weight shape: the error names the model file's line and both shapes.
sed 's/weight conv_w   \[conv_dim, 1, d_conv\]/weight conv_w   [conv_dim, 2, d_conv]/' "$m2" >"$tmp/bad.ssd"
grep -q "conv_dim, 2, d_conv" "$tmp/bad.ssd" || { echo "FAIL: could not plant the shape error"; fail=1; }
line=$(grep -n "xBC = silu(conv1d" "$tmp/bad.ssd" | cut -d: -f1)
expect 1 "bad.ssd:$line:[0-9]*: error: conv1d: weight must be \[channels, 1, kernel\]" check "$tmp/bad.ssd"
expect 1 "w is f32\[conv_dim,2,d_conv\]" check "$tmp/bad.ssd"
expect 0 "after memplan" dump "$m2" --after all --set n_layer=1
# Graphviz parses every model's dot dump (when Graphviz is installed).
if command -v dot >/dev/null && command -v gc >/dev/null; then   # parse only: layout of big graphs is slow
  for m in "$src"/models/*.ssd; do
    "$tool" dump "$m" --format dot >"$tmp/g.dot" 2>"$tmp/g.err" && gc -n "$tmp/g.dot" >/dev/null 2>"$tmp/g.err" &&
      ! [ -s "$tmp/g.err" ] ||
      { echo "FAIL: dot rejects the dump of $m"; head -5 "$tmp/g.err"; fail=1; }
  done
fi
[ $fail = 0 ] && echo "pass cli: all cases behave"
exit $fail
