# Session 23, call 2: mamba_ssm's LM in configuration B (causal_conv1d built in call 1, carried)
# and A, and ssdc's 2.7b prefill, alternating in one call.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
PB=".peers:.peers/causal-conv1d:.peers/cc_build"
python3 bench/peer_cconv_build.py
ssdc() { timeout 120 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 1x2048,8x2048,1x16384 --decode-batch 1 --decode-tokens 8 --out $T/ssdc-$1.json > $T/ssdc-$1.log 2>&1; echo "ssdc $1 rc $?"; }
peer() { SECTIONS=lm_mamba2 PEER_CC=$2 OUT=$T PYTHONUNBUFFERED=1 PYTHONPATH=$3 timeout 200 python3 bench/peer_anchors.py > $T/peer$1.log 2>&1; echo "peer $1 rc $?"; }
ssdc 1
peer B 1 $PB
ssdc 2
peer A 0 .peers
ssdc 3
grep -h '^\[' $T/peer*.log
python3 - $T <<'PY'
import json, sys, glob
T = sys.argv[1]
for f, k in (("anchors-cc.json", "mamba_ssm_lm_causal_conv1d"), ("anchors.json", "mamba_ssm_lm_no_causal_conv1d")):
    try:
        for r in json.load(open(f"{T}/{f}")).get(k, []): print(k, r)
    except Exception as e: print(f, e)
for f in sorted(glob.glob(f"{T}/ssdc-*.json")):
    print(f.split("/")[-1], [(r.get("kind"), r.get("batch"), r.get("L"), r.get("ms") or r.get("ms_per_step")) for r in json.load(open(f))["results"]])
PY
