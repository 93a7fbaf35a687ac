# Session 22 call 7: the change (phase 3 skips the state update after a
# block's last chunk unless it is the final state) through the whole GPU
# suite (bench/gpu.sh GPU_ONLY_TESTS=1 with the prebuilt ssdc and tests),
# then the SSD forward alone (bench_ssd_gpu as gpu.sh built it) beside
# mamba_ssm's mamba_chunk_scan_combined in the same call.
O=$OUT; T=/tmp/s22c7; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/t timeout 420 bash bench/gpu.sh > $O/suite.txt 2>&1; echo "suite rc $?"
cp $T/t/tests.log $O/tests.log 2>/dev/null; tail -4 $O/suite.txt; grep -c "^ok\|: ok\| ok$" $O/tests.log; grep -E "FAIL" $O/tests.log | head
export SSDC_CACHE_DIR=/tmp/c22g
timeout 60 build-gpu/bench_ssd_gpu $O/ssdc_gpu.json > $O/bench.log 2>&1; echo "bench rc $?"
PYTHONUNBUFFERED=1 PYTHONPATH=.peers timeout 110 python3 bench/bench_ssd_peer.py $O/peer.json >> $O/bench.log 2>&1; echo "peer rc $?"
python3 bench/gpu_merge.py $O/ssdc_gpu.json $O/peer.json $O/gpu-results.json >> $O/bench.log 2>&1; tail -22 $O/bench.log
