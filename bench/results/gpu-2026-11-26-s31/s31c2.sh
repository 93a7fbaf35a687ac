# Session 31, call 2: test_ops_gpu --bench-gw with the in_proj fold taken apart (run as one command):
export SSDC_CACHE_DIR=/tmp/ssdc-cache; timeout 200 .prebuilt/test_ops_gpu --bench-gw > $OUT/ops2.log 2>&1; echo rc $?; grep -E "FAIL|passed|bench in_proj" $OUT/ops2.log
