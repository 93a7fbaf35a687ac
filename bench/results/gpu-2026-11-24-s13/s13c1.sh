# Session 13 call 1: the mixer with its conv inputs in registers (A = head, B = new)
O=$OUT; T=/tmp/s13; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_CACHE_DIR=/tmp/c1
M="--model-file models/mamba2.ssd --dtype bf16"
for v in ssdc-head ssdc; do
SSDC_DEC_TRACE=1 timeout 90 .prebuilt/$v bench --device cuda $M --decode-batch 1 --decode-tokens 32 --out $T/t130-$v.json > /dev/null 2> $T/t130-$v.log
SSDC_DEC_TRACE=1 timeout 120 .prebuilt/$v bench --device cuda $M --set d_model=2560 --set n_layer=64 --decode-batch 1 --decode-tokens 16 --out $T/t27-$v.json > /dev/null 2> $T/t27-$v.log
echo "== $v"; grep -h -A6 "summary by kind" $T/t130-$v.log $T/t27-$v.log | grep -v "^--"
done
cp $T/t130-ssdc.log $O/trace130-new.log
A=.prebuilt/ssdc-head B=.prebuilt/ssdc ONLY='130m-dec|2.7b-dec' OUT=$T/ab bash bench/ab_gpu.sh 3 > $T/ab.txt 2>&1; cp $T/ab.txt $O/ab.txt; cat $T/ab.txt
DEC_NO_BENCH=1 OUT=$T/dec timeout 200 bash tests/cuda_dec/dec_gpu.sh > $T/dec-tests.txt 2>&1; echo "dec tests rc $?"; cp $T/dec/tests.log $O/dec-tests.log; grep -E "FAIL|passed|failures" $T/dec/tests.log | tail -12
for c in mamba2_g1 mamba2_g2 mamba2_variants mamba1 bamba; do timeout 60 .prebuilt/test_gpu_graph tests/golden/$c > $T/graph-$c.log 2>&1; r=$?; echo "graph $c rc $r"; [ $r = 0 ] || tail -5 $T/graph-$c.log; done
timeout 90 .prebuilt/test_gpu_graph --fused > $T/graph-fused.log 2>&1; r=$?; echo "graph fused rc $r"; tail -3 $T/graph-fused.log
