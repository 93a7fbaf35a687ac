#!/usr/bin/env bash
# cli_gpu_check.sh: the ssdc binary end to end on --device cuda against the
# golden fixtures: `ssdc run` logits within 1e-4 of the float64 reference
# (max|diff| / max|ref|) and `ssdc generate` equal to the greedy continuation;
# with --dtype bf16, run within 2e-2 (the goldens' bf16 bound) and generate
# giving as many tokens (bf16 may pick another token where two are close).
# Needs python3 with numpy and safetensors (the device image has them).
set -uo pipefail
cd "$(dirname "$0")/.."
SSDC=${SSDC:-build/ssdc}
export SSDC_MODELS=$PWD/models
rc=0
for c in mamba2_g1 mamba2_g2 mamba2_variants mamba1 bamba; do
  g=tests/golden/$c
  out=$(mktemp -d)/logits.safetensors
  for dt in f32 bf16; do
    tol=1e-4; [ $dt = bf16 ] && tol=2e-2
    if ! $SSDC run --device cuda --dtype $dt --model $g --input $g/input.safetensors --output $out; then
      echo "FAILED: $c run --dtype $dt"; rc=1; continue
    fi
    python3 - "$g/logits.safetensors" "$out" "$c $dt" $tol <<'PY' || rc=1
import sys
from safetensors.numpy import load_file
ref = load_file(sys.argv[1])["logits"].astype("float64")
got = load_file(sys.argv[2])["logits"].astype("float64")
tol = float(sys.argv[4])
rel = abs(got - ref).max() / abs(ref).max() if got.shape == ref.shape else float("inf")
print(("ok " if rel <= tol else "MISMATCH ") + f"{sys.argv[3]} run --device cuda: rel {rel:.3g}")
sys.exit(0 if rel <= tol else 1)
PY
  done
  read -r prompt want < <(python3 -c "import json;d=json.load(open('$g/greedy.json'));print(','.join(map(str,d['prompt'])), ' '.join(map(str,d['new_tokens'])))")
  n=$(echo $want | wc -w)
  got=$($SSDC generate --device cuda --model $g --prompt-ids $prompt --max-new-tokens $n)
  if [ "$got" = "$want" ]; then echo "ok $c generate --device cuda: $n tokens"; else echo "MISMATCH $c generate: got '$got' want '$want'"; rc=1; fi
  got=$($SSDC generate --device cuda --dtype bf16 --model $g --prompt-ids $prompt --max-new-tokens $n)
  if [ "$(echo $got | wc -w)" = "$n" ]; then echo "ok $c generate --device cuda --dtype bf16: $n tokens"; else echo "MISMATCH $c generate bf16: got '$got'"; rc=1; fi
done
exit $rc
