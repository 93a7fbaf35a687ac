O=$OUT
export SSDC_CACHE_DIR=/tmp/c6
M="--model-file models/mamba2.ssd --dtype bf16"
for v in ssdc ssdc-mx; do
SSDC_DEC_TRACE=1 timeout 90 .prebuilt/$v bench --device cuda $M --decode-batch 1 --decode-tokens 32 --out $O/trace130-$v.json > $O/trace130-$v.out 2> $O/trace130-$v.log
SSDC_DEC_TRACE=1 timeout 120 .prebuilt/$v bench --device cuda $M --set d_model=2560 --set n_layer=64 --decode-batch 1 --decode-tokens 16 --out $O/trace27-$v.json > $O/trace27-$v.out 2> $O/trace27-$v.log
grep -A6 "summary by kind" $O/trace130-$v.log $O/trace27-$v.log
done
A=.prebuilt/ssdc B=.prebuilt/ssdc-mx ONLY='130m-dec|2.7b-dec' OUT=$O/ab bash bench/ab_gpu.sh 3 > $O/ab.txt 2>&1; grep decode $O/ab.txt
OUT=$O/dec timeout 200 bash tests/cuda_dec/dec_gpu.sh > $O/dec-tests.txt 2>&1; echo "dec tests rc $?"; grep -E "FAIL|passed|failures|mixer" $O/dec-tests.txt | tail -12
for c in mamba2_g1 mamba2_g2 mamba2_variants mamba1 bamba; do .prebuilt/test_gpu_graph-mx tests/golden/$c > $O/graph-$c.log 2>&1; echo "graph $c rc $?"; done
.prebuilt/test_gpu_graph-mx --fused > $O/graph-fused.log 2>&1; echo "graph fused rc $?"
