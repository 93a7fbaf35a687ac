# Session 23, call 1: build causal-conv1d for the peer, then mamba_ssm's LM in configuration B
# (causal_conv1d + mem-eff path) and ssdc's 2.7b prefill alternating, in one call.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
( MAX_JOBS=16 python3 bench/peer_cconv_build.py ) > $T/cc_build.log 2>&1; echo "build rc $?"
tail -3 $T/cc_build.log
ls -la .peers/cc_build/*.so && cp .peers/cc_build/causal_conv1d_cuda.so $T/ 
PB=".peers:.peers/causal-conv1d:.peers/cc_build"
ssdc() { timeout 120 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 1x2048,8x2048,1x16384 --decode-batch 1 --decode-tokens 8 --out $T/ssdc-$1.json > $T/ssdc-$1.log 2>&1; echo "ssdc $1 rc $?"; }
ssdc 1
SECTIONS=lm_mamba2 PEER_CC=1 OUT=$T PYTHONUNBUFFERED=1 PYTHONPATH=$PB timeout 200 python3 bench/peer_anchors.py > $T/peerB.log 2>&1; echo "peer B rc $?"
ssdc 2
grep -v '^ \|^[{}]' $T/peerB.log | tail -5
python3 - $T <<'PY'
import json, sys, glob
T = sys.argv[1]
b = json.load(open(f"{T}/anchors-cc.json")).get("mamba_ssm_lm_causal_conv1d", [])
for r in b: print(r)
for f in sorted(glob.glob(f"{T}/ssdc-*.json")):
    for r in json.load(open(f))["results"]:
        print(f, r.get("kind"), r.get("batch"), r.get("L"), r.get("ms"), r.get("ms_per_step"))
PY
