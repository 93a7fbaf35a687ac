# Session 21 call 7: the record for the README, one call: the 2.7b prefill
# A = HEAD before this session (.prebuilt/ssdc-old) against B = 49eeab2,
# 2 rounds, mamba_ssm's MambaLMHeadModel in the same call; then the SSD
# forward alone (bench_ssd_gpu, built here as bench/gpu.sh does) beside
# mamba_ssm's mamba_chunk_scan_combined.
O=$OUT; T=/tmp/s21c7; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
A=.prebuilt/ssdc-old B=.prebuilt/ssdc ONLY='^2.7b-pre$' PEER=1 OUT=$T/ab timeout 330 bash bench/ab_gpu.sh 2 > $T/ab.txt 2>&1; echo "ab rc $?"
cp $T/ab.txt $O/ab.txt; cp $T/ab/anchors.json $O/anchors.json 2>/dev/null; tail -9 $T/ab.txt
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
gcc -std=c17 -O2 -Iir -Icodegen -Iruntime bench/bench_ssd_gpu.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/bench_ssd_gpu
export SSDC_CACHE_DIR=/tmp/c21b
timeout 120 $B/bench_ssd_gpu $O/ssdc_gpu.json > $O/bench.log 2>&1; echo "bench rc $?"
PYTHONUNBUFFERED=1 PYTHONPATH=.peers timeout 150 python3 bench/bench_ssd_peer.py $O/peer.json >> $O/bench.log 2>&1; echo "peer rc $?"
python3 bench/gpu_merge.py $O/ssdc_gpu.json $O/peer.json $O/gpu-results.json >> $O/bench.log 2>&1; tail -25 $O/bench.log
