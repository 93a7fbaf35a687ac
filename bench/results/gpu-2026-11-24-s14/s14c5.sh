# Session 14 call 5: 2.7b bf16 A/B beside mamba_ssm (A = cba7522, B = 4a93831 default: the
# mma.sync SSD kernel with the raw dt kept unconverted), and the SSD benchmark of both kernels
O=$OUT; T=/tmp/s14c5; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
A=.prebuilt/ssdc-head B=.prebuilt/ssdc ONLY='2.7b-bf16' PEER=1 OUT=$T/ab timeout 420 bash bench/ab_gpu.sh 2 > $T/ab.txt 2>&1; echo "ab rc $?"
cp $T/ab.txt $O/ab.txt; cp $T/ab/anchors.json $O/anchors.json 2>/dev/null; cp $T/ab/peer.log $O/ 2>/dev/null; cat $T/ab.txt | tail -12
B2=$T/b; mkdir -p $B2
cmake -DOUT=$B2/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
gcc -std=c17 -O2 -Iir -Icodegen -Iruntime bench/bench_ssd_gpu.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B2/emb.c -ldl -lpthread -lm -o $B2/bench_ssd_gpu
export SSDC_CACHE_DIR=/tmp/c5
for w in 0 1; do SSDC_SSD_WG=$w timeout 100 $B2/bench_ssd_gpu $T/ssd-wg$w.json > $T/ssd-wg$w.log 2>&1; echo "bench wg=$w rc $?"; cp $T/ssd-wg$w.* $O/; done
paste <(grep -E "^ *[0-9]+x" $T/ssd-wg0.log | head -14) <(grep -E "^ *[0-9]+x" $T/ssd-wg1.log | head -14 | cut -c1-60)
