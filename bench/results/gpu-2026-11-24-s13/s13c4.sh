# Session 13 call 4: prefill profile and the SSD segment length inside the 2.7b model
O=$OUT; T=/tmp/s13c4; rm -rf $T; mkdir -p $T; date -u
export SSDC_CACHE_DIR=/tmp/c4
M="--model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --decode-batch 1 --decode-tokens 4"
for p in 8x2048 1x16384; do
  SSDC_PROFILE=1 timeout 80 .prebuilt/ssdc bench --device cuda $M --prefill $p > $T/prof-$p.out 2> $T/prof-$p.log
  echo "== profile $p"; awk -v p="forward ${p}" 'index($0,"ssdc profile") && index($0,p) {n++} n==2 && !/under 0.05/ {print} n==2 && /under 0.05/ {exit}' $T/prof-$p.log | head -14
done
for sc in 0 16 8 11; do
  SSDC_SSD_SEG_CHUNKS=$sc timeout 80 .prebuilt/ssdc bench --device cuda $M --prefill 8x2048 --out $T/s8-$sc.json > /dev/null 2>&1
  echo "8x2K seg_chunks=$sc: $(python3 -c "import json;print([round(r['ms'],2) for r in json.load(open('$T/s8-$sc.json'))['results'] if r['kind']=='prefill'])")"
done
for sc in 0 16 43 64 20; do
  SSDC_SSD_SEG_CHUNKS=$sc timeout 80 .prebuilt/ssdc bench --device cuda $M --prefill 1x16384 --out $T/s16-$sc.json > /dev/null 2>&1
  echo "1x16K seg_chunks=$sc: $(python3 -c "import json;print([round(r['ms'],2) for r in json.load(open('$T/s16-$sc.json'))['results'] if r['kind']=='prefill'])")"
done
A=.prebuilt/ssdc-head B=.prebuilt/ssdc ONLY='130m-bf16' OUT=$T/ab timeout 200 bash bench/ab_gpu.sh 2 > $T/ab.txt 2>&1; echo "ab rc $?"; cp $T/ab.txt $O/ab130.txt; cat $T/ab.txt
