# Session 19 call 6: the SSD kernel in the model, each launch timed (CUDA
# events; the timer syncs after each) and run a second time back to back
# (ssdc-twice: a throwaway build of d780f0b with SSDC_SSD_TWICE in
# run_ssd_chunked, not committed: call6/ssd-twice.patch): is the in-model slowdown the kernel's
# inputs or what runs before it?
O=$OUT; T=/tmp/s19c6; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c19
A="--dtype bf16 --set d_model=2560 --set n_layer=64 --decode-batch 1 --decode-tokens 8"
for s in 8x2048 1x16384; do
  SSDC_SSD_TWICE=1 timeout 150 .prebuilt/ssdc-twice bench --device cuda --model-file models/mamba2.ssd $A --prefill $s --out $T/t-$s.json > $T/t-$s.log 2>&1; echo "twice $s rc $?"
  grep SSDTWICE $T/t-$s.log | awk -v s=$s '{a[NR]=$4; b[NR]=$5} END {n=asort(a); asort(b); printf "%s launches %d  first (in place) median %.4f ms  second (back to back) median %.4f ms\n", s, n, a[int(n/2)+1], b[int(n/2)+1]}'
done
cp $T/* $O/ 2>/dev/null
