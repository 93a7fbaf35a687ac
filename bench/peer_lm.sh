#!/usr/bin/env bash
# peer_lm.sh DIR: mamba_ssm's MambaLMHeadModel (the anchors' lm_mamba2 section,
# bench/peer_anchors.py) on the device, in the same call as ssdc, so that
# ratios need no numbers from another machine or day:
#   configuration A (no causal_conv1d)          -> DIR/anchors.json
#   configuration B (causal_conv1d, mem-eff)    -> DIR/anchors-cc.json
#   B's prefill, last position's logits only    -> DIR/anchors-cc-last.json (B1)
# B runs where .peers holds a built causal-conv1d (.peers/cc_build, made by
# bench/peer_cconv_build.py: ~8 minutes on the H100, so build it in a call of
# its own, fetch the .so back and carry .peers).  bench/peer_best.py takes the
# better configuration per cell, as ../shared/notes/anchors-h100.md does.
set -uo pipefail
cd "$(dirname "$0")/.."
D=${1:?output folder}
mkdir -p "$D"
rm -f "$D/anchors.json" "$D/anchors-cc.json" "$D/anchors-cc-last.json"
if [ ! -f .peers/mamba_ssm_anchors.py ] || [ ! -d .peers/mamba_ssm ]; then
  echo "no .peers/mamba_ssm: mamba_ssm not measured"
  exit 0
fi
run() { # PEER_CC PYTHONPATH NAME [PEER_LAST]
  SECTIONS=lm_mamba2 PEER_CC=$1 PEER_LAST=${4:-0} OUT=$D PYTHONUNBUFFERED=1 PYTHONPATH=$2 timeout 200 \
    python3 bench/peer_anchors.py >"$D/peer-$3.log" 2>&1 || echo "peer $3: exit $?"
  grep -h '^\[' "$D/peer-$3.log" | sed "s/^/peer $3: /"
}
run 0 .peers A
if [ -f .peers/cc_build/causal_conv1d_cuda.so ]; then
  python3 bench/peer_cconv_build.py --check >"$D/peer-cc.log" 2>&1 &&
    { run 1 .peers:.peers/causal-conv1d:.peers/cc_build B
      run 1 .peers:.peers/causal-conv1d:.peers/cc_build B1 1; } ||
    { echo "peer B: the carried causal-conv1d does not import here; not measured"; tail -3 "$D/peer-cc.log"; }
else
  echo "peer B: no .peers/cc_build (bench/peer_cconv_build.py): not measured"
fi
