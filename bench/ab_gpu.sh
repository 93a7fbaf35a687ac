#!/usr/bin/env bash
# ab_gpu.sh: an A/B of two ssdc builds on whole models, in one device call, so
# that a change's effect is measured on the same machine at the same time
# (the prediction vs outcome entries of bench/NOTES.md).  Rounds alternate
# A and B so that clock and thermal drift fall on both.  Each setting runs
# under its own timeout; the JSON of every run lands in $OUT/ab/ and a
# summary table (best of the rounds, B over A) in $OUT/ab.log.
#   A=.prebuilt/ssdc-old B=.prebuilt/ssdc OUT=... bench/ab_gpu.sh [ROUNDS]
# ONLY=REGEX keeps the settings whose names match (grep -E).
# The settings are the list below: name, seconds, `ssdc bench` arguments
# (the model file is named, since a build's default is a path on the machine
# that built it).  PEER=1 then also runs mamba_ssm's MambaLMHeadModel on the
# same shapes (bench/peer_lm.sh: configurations A and B where B's module is
# carried) into $OUT/peer/, so ratios to the peer come from the same call; the
# table takes the better configuration per cell (bench/peer_best.py).
set -uo pipefail
cd "$(dirname "$0")/.."
A=${A:?path of the A build of ssdc}
B=${B:?path of the B build of ssdc}
OUT=${OUT:-/tmp/ssdc-ab}
rounds=${1:-2}
mkdir -p "$OUT/ab"
# only this run's files: a warm machine keeps /tmp from the last call
rm -f "$OUT"/ab/*.json "$OUT"/ab/*.log
export SSDC_CACHE_DIR=${SSDC_CACHE_DIR:-/tmp/ssdc-ab-cache}
settings=(
  "130m-dec|40|--dtype bf16 --decode-batch 1,16 --decode-tokens 128"
  "2.7b-dec|60|--dtype bf16 --set d_model=2560 --set n_layer=64 --decode-batch 1,16 --decode-tokens 128"
  "130m-bf16|60|--dtype bf16 --prefill 1x2048,8x2048,1x16384 --decode-batch 1,16"
  "2.7b-bf16|120|--dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 1x2048,8x2048,1x16384 --decode-batch 1,16"
  "2.7b-pre|100|--dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 1x2048,8x2048,1x16384 --decode-batch 1 --decode-tokens 8"
  "130m-f32-pre|60|--dtype f32 --prefill 1x2048,8x2048 --decode-batch 1"
  "2.7b-f32-pre|90|--dtype f32 --set d_model=2560 --set n_layer=64 --prefill 1x2048 --decode-batch 1"
)
if [ "${PEER:-0}" = 1 ]; then
  bash bench/peer_lm.sh "$OUT/peer"
fi
for r in $(seq 1 "$rounds"); do
  for s in "${settings[@]}"; do
    IFS='|' read -r name secs args <<<"$s"
    [ -n "${ONLY:-}" ] && ! grep -qE "$ONLY" <<<"$name" && continue
    for v in A B; do
      bin=$A; [ $v = B ] && bin=$B
      # shellcheck disable=SC2086 # args is a word list on purpose
      timeout "$secs" "$bin" bench --device cuda --model-file models/mamba2.ssd $args --out "$OUT/ab/$name-$v-$r.json" \
        >"$OUT/ab/$name-$v-$r.log" 2>&1 || echo "$name $v round $r: exit $?"
    done
  done
done
python3 - "$OUT/ab" "$OUT/peer" <<'PY' | tee "$OUT/ab.log"
# Best of the rounds per row, B / A, and B over mamba_ssm's LM (bf16 rows).
import glob, json, os, re, sys
rows = {}
for f in glob.glob(os.path.join(sys.argv[1], "*.json")):
    name, v, _ = re.match(r"(.*)-([AB])-(\d+)\.json$", os.path.basename(f)).groups()
    for r in json.load(open(f))["results"]:
        key = (name, r["kind"], r["batch"], r.get("L", 0))
        # decode: ms_per_step (one call for all steps), and the step-per-call
        # and device-time columns beside it where the build reports them
        for sub, k in (("", "ms"), ("", "ms_per_step"), (" sync", "ms_per_step_sync"),
                       (" device", "device_ms_per_step")):
            ms = r.get(k)
            if ms:
                d = rows.setdefault(key[:1] + (key[1] + sub,) + key[2:], {})
                d[v] = min(d.get(v, 1e30), ms)
sys.path.insert(0, "bench")
from peer_best import peer_rows
peer = peer_rows(sys.argv[2])  # the better of configurations A and B per cell
if not peer:
    print("(no peer numbers)")
print(f"{'setting':14} {'row':20} {'A ms':>9} {'B ms':>9} {'B/A':>6} {'peer ms':>9} {'cfg':>3} {'B/peer':>6}")
for (name, kind, batch, L), d in sorted(rows.items()):
    row = f"{kind.split()[0]} b{batch}" + (f" L{L}" if kind == "prefill" else "")
    row += " " + " ".join(kind.split()[1:]) if " " in kind else ""
    a, b = d.get("A"), d.get("B")
    p, pc = None, "-"
    if "f32" not in name and " " not in kind:  # bf16 settings: the peer runs bf16
        key = f"prefill_b{batch}_L{L}_ms" if kind == "prefill" else f"decode_b{batch}_ms_per_token"
        p, pc = peer.get("mamba2-" + name.split("-")[0], {}).get(key, (None, "-"))
    f = lambda x: f"{x:9.3f}" if x else "        -"
    q = lambda x, y: f"{x / y:6.3f}" if x and y else "     -"
    print(f"{name:14} {row:20} {f(a)} {f(b)} {q(b, a)} {f(p)} {pc:>3} {q(b, p)}")
PY
