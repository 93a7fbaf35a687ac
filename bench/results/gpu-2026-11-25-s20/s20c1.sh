# Session 20 call 1: the gate's tile in the mma.sync SSD kernel (SSD_Z_TILE:
# z copied into the dead state operand after chunk_y's barrier, L2-prefetched
# with the chunk's copies), which the folded gated norm ($SSDC_GNORM_FOLD=1)
# uses.  test_ssd_gpu (float64 reference, z and gnorm cases), test_gpu_graph
# --fused (folded vs plain logits), then the 2.7b prefill A = fold off, B =
# fold on (same binary), 2 rounds, and B's profile.
O=$OUT; T=/tmp/s20c1; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c20
s=$(date +%s); timeout 200 .prebuilt/test_ssd_gpu > $T/test.log 2>&1; echo "test_ssd_gpu rc $? $(( $(date +%s) - s )) s"; grep -E "FAIL|passed|failed" $T/test.log | tail -4
s=$(date +%s); timeout 150 .prebuilt/test_gpu_graph --fused > $T/fused.log 2>&1; echo "fused rc $? $(( $(date +%s) - s )) s"; tail -3 $T/fused.log
A=.prebuilt/ssdc B=.prebuilt/ssdc-fold ONLY='^2.7b-pre$' PEER=0 OUT=$T/ab timeout 260 bash bench/ab_gpu.sh 2 > $T/ab.txt 2>&1; echo "ab rc $?"; tail -8 $T/ab.txt
SSDC_PROFILE=1 timeout 60 .prebuilt/ssdc-fold bench --device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048,1x16384 --decode-batch 1 --decode-tokens 4 --out $T/prof.json > $T/prof.log 2>&1; echo "prof rc $?"; grep -E "ssm|gated|rmsnorm|linear|conv1d|add " $T/prof.log | head -40
cp $T/*.log $T/ab.txt $O/ 2>/dev/null
