# Session 28, call 2: the SSD forward at the anchor shapes with chained segments in the policy
# (bench_ssd_gpu, then mamba_ssm's mamba_chunk_scan_combined on the same shapes, ratios by
# gpu_merge.py), and the 2.7b prefill at 8x2K with the norm's tail overlap off
# (SSDC_GNORM_AFTER=0), chained (the policy) against looked back (SSDC_SSD_CHAIN=0), 2 rounds.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
timeout 150 .prebuilt/bench_ssd_gpu $T/ssdc_gpu.json > $T/bench.log 2>&1; echo "bench rc $?"
PYTHONUNBUFFERED=1 PYTHONPATH=.peers timeout 240 python3 bench/bench_ssd_peer.py $T/peer.json > $T/peer.log 2>&1; echo "peer rc $?"
python3 bench/gpu_merge.py $T/ssdc_gpu.json $T/peer.json $T/gpu-results.json > $T/merge.log 2>&1; echo "merge rc $?"
cat $T/merge.log
M="--device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048 --decode-batch 1 --decode-tokens 8"
for r in 1 2; do
  for v in A B; do
    case $v in A) E="SSDC_SSD_CHAIN=0";; B) E="SSDC_SSD_CHAIN_UNSET=1";; esac
    env SSDC_GNORM_AFTER=0 $E timeout 80 .prebuilt/ssdc bench $M --out $T/noafter-$v-$r.json > $T/noafter-$v-$r.log 2>&1 || echo "$v $r exit $?"
  done
done
python3 - $T <<'PY'
import json,glob,os,sys
for f in sorted(glob.glob(sys.argv[1]+"/noafter-*.json")):
    for r in json.load(open(f))["results"]:
        if r["kind"]=="prefill": print(os.path.basename(f), r["batch"], r.get("L"), r["ms"])
PY
rm -f $T/noafter-*.log
