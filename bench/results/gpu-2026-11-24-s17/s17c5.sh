# Session 17 call 5: racecheck on test_ssd_gpu with the wgmma kernel (call 4's ran past its limit
# compiling the kernels under the tool: now a plain run first fills the kernel cache).
O=$OUT; T=/tmp/s17c5; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_CACHE_DIR=/tmp/c17
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
gcc -std=c17 -O2 -Iir -Icodegen -Iruntime tests/cuda/test_ssd_gpu.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c runtime/rt_ssm_ref.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/test_ssd_gpu
SSDC_SSD_WG=1 timeout 100 $B/test_ssd_gpu > $T/plain.log 2>&1; echo "plain rc $?"
SSDC_SSD_WG=1 timeout 300 compute-sanitizer --tool racecheck --error-exitcode 9 $B/test_ssd_gpu > $T/san-racecheck.log 2>&1; echo "racecheck rc $?"; tail -3 $T/san-racecheck.log
grep -m4 -A2 'Error: Race' $T/san-racecheck.log
cp $T/san-racecheck.log $O/
