set -x
O=$OUT
nvcc -arch=sm_90 -O2 -o /tmp/sync_micro bench/sync_micro.cu && /tmp/sync_micro 72 300 > $O/sync.log 2>&1; cat $O/sync.log
/tmp/sync_micro 24 300 >> $O/sync.log 2>&1; tail -16 $O/sync.log
export SSDC_CACHE_DIR=/tmp/c1
for i in 1 2; do timeout 60 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd --dtype bf16 --decode-batch 1,16 --decode-tokens 128 --out $O/dec$i.json > $O/dec$i.log 2>&1; grep -h '"ms_per_step"' -o $O/dec$i.json; python3 -c "import json;[print(r['kind'],r['batch'],r.get('ms_per_step')) for r in json.load(open('$O/dec$i.json'))['results']]"; done
