# Session 19 call 4: the 2.7b prefill, HEAD's build (ssdc-old: GEMM candidates
# timed with beta = 0) against this session's (timed with the call's beta),
# 2 rounds on one machine.
O=$OUT; T=/tmp/s19c4; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c19
A=.prebuilt/ssdc-old B=.prebuilt/ssdc ONLY='^2.7b-pre$' PEER=0 OUT=$T/ab timeout 500 bash bench/ab_gpu.sh 2 > $T/ab.txt 2>&1; echo "ab rc $?"; tail -8 $T/ab.txt
cp $T/ab.txt $O/ 2>/dev/null
