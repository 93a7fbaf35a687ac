# Session 13 call 7 (review): the mixer's conv shift by per-reader-set tickets (B = new) vs fb96ee4 (A)
O=$OUT; T=/tmp/s13c7; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_CACHE_DIR=/tmp/c7
DEC_NO_BENCH=1 OUT=$T/dec timeout 200 bash tests/cuda_dec/dec_gpu.sh > $T/dec.txt 2>&1; echo "dec tests rc $?"; cp $T/dec/tests.log $O/dec-tests.log; grep -E "FAIL|failures|compiled" $T/dec/tests.log | tail -6
for c in mamba2_g1 mamba2_g2 mamba2_variants mamba1 bamba; do timeout 60 .prebuilt/test_gpu_graph tests/golden/$c > $T/graph-$c.log 2>&1; r=$?; echo "graph $c rc $r"; [ $r = 0 ] || tail -5 $T/graph-$c.log; done
timeout 90 .prebuilt/test_gpu_graph --fused > $T/gf.log 2>&1; echo "graph fused rc $?"; tail -1 $T/gf.log
A=.prebuilt/ssdc-fb9 B=.prebuilt/ssdc ONLY='130m-dec|2.7b-dec' OUT=$T/ab timeout 300 bash bench/ab_gpu.sh 2 > $T/ab.txt 2>&1; echo "ab rc $?"; cp $T/ab.txt $O/ab.txt; grep "decode b" $T/ab.txt
