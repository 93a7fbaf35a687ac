# Session 16 call 5: A/B whole models, A = HEAD d2a78f1, B = the working tree (the SSD state in
# place: no zeroing read or copy back), 2 rounds, mamba_ssm's MambaLMHeadModel in the same call;
# then compute-sanitizer racecheck and memcheck on test_ssd_gpu (folded-conv cases included)
O=$OUT; T=/tmp/s16c5; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
A=.prebuilt/ssdc-head B=.prebuilt/ssdc ONLY='^(2.7b-pre|130m-bf16)$' PEER=1 OUT=$T/ab timeout 400 bash bench/ab_gpu.sh 2 > $T/ab.txt 2>&1; echo "ab rc $?"
cp $T/ab.txt $O/ab.txt; cp $T/ab/anchors.json $O/anchors.json 2>/dev/null; tail -18 $T/ab.txt
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
gcc -std=c17 -O2 -Iir -Icodegen -Iruntime tests/cuda/test_ssd_gpu.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c runtime/rt_ssm_ref.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/test_ssd_gpu
export SSDC_CACHE_DIR=/tmp/c16
for tool in racecheck memcheck; do
  timeout 90 compute-sanitizer --tool $tool --error-exitcode 9 $B/test_ssd_gpu > $T/san-$tool.log 2>&1; echo "$tool rc $?"; tail -2 $T/san-$tool.log
done
cp $T/san-*.log $O/
