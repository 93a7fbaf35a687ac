#!/usr/bin/env bash
# cli_gpu_check.sh: the ssdc binary end to end on --device cuda against the
# golden fixtures: `ssdc run` logits within 1e-4 of the float64 reference
# (max|diff| / max|ref|) and `ssdc generate` equal to the greedy continuation;
# with --dtype bf16, run within 2e-2 (the goldens' bf16 bound) and generate
# giving as many tokens (bf16 may pick another token where two are close).
# Then the same again from a kernel pack (`ssdc compile` for this GPU's
# architecture, the fixture's shapes) with NVRTC made unavailable
# (SSDC_NVRTC pointing nowhere): the deployment path.
# Needs python3 with numpy and safetensors (the device image has them).
set -uo pipefail
cd "$(dirname "$0")/.."
SSDC=${SSDC:-build/ssdc}
export SSDC_MODELS=$PWD/models
arch=sm_$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '. ')
rc=0

# check CASE LABEL [ssdc args...]: run and generate, f32 and bf16.
check() {
  local c=$1 label=$2
  shift 2
  local g=tests/golden/$c out
  out=$(mktemp -d)/logits.safetensors
  for dt in f32 bf16; do
    tol=1e-4; [ $dt = bf16 ] && tol=2e-2
    if ! $SSDC run --device cuda --dtype $dt "$@" --model $g --input $g/input.safetensors --output $out; then
      echo "FAILED: $c run --dtype $dt ($label)"; rc=1; continue
    fi
    python3 - "$g/logits.safetensors" "$out" "$c $dt ($label)" $tol <<'PY' || rc=1
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
  got=$($SSDC generate --device cuda "$@" --model $g --prompt-ids $prompt --max-new-tokens $n)
  if [ "$got" = "$want" ]; then echo "ok $c generate --device cuda ($label): $n tokens"; else echo "MISMATCH $c generate ($label): got '$got' want '$want'"; rc=1; fi
  got=$($SSDC generate --device cuda --dtype bf16 "$@" --model $g --prompt-ids $prompt --max-new-tokens $n)
  if [ "$(echo $got | wc -w)" = "$n" ]; then echo "ok $c generate --device cuda --dtype bf16 ($label): $n tokens"; else echo "MISMATCH $c generate bf16 ($label): got '$got'"; rc=1; fi
}

for c in mamba2_g1 mamba2_g2 mamba2_variants mamba1 bamba; do
  check $c nvrtc
  g=tests/golden/$c
  # the fixture's batch and lengths: the input's [B, L] and the greedy prompt
  read -r B L P < <(python3 -c "
import json
from safetensors.numpy import load_file
s = load_file('$g/input.safetensors')['input_ids'].shape
print(s[0] if len(s) == 2 else 1, s[-1], len(json.load(open('$g/greedy.json'))['prompt']))")
  pack=$(mktemp -d)/pack
  if $SSDC compile --model $g --target cuda --arch $arch --dtype f32,bf16 --batch $B,1 --seqlen $L,$P --out $pack; then
    export SSDC_NVRTC=/nonexistent/libnvrtc.so
    check $c "kernel pack, no NVRTC" --kernels $pack
    unset SSDC_NVRTC
  else
    echo "FAILED: $c compile"; rc=1
  fi
done
exit $rc
