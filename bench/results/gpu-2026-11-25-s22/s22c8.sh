# Session 22 call 8: compute-sanitizer racecheck and memcheck on test_ssd_gpu
# (the mma.sync kernel, whose phase 3 now leaves the loop before its last state update), after a plain run that fills
# the kernel cache.
O=$OUT; nvidia-smi -L; date -u
export SSDC_CACHE_DIR=/tmp/c22s
timeout 150 .prebuilt/test_ssd_gpu > $O/plain.log 2>&1; echo "plain rc $?"; tail -1 $O/plain.log
for tool in racecheck memcheck; do s=$(date +%s)
  timeout 200 compute-sanitizer --tool $tool --error-exitcode 9 .prebuilt/test_ssd_gpu > $O/san-$tool.log 2>&1
  echo "$tool rc $? $(( $(date +%s) - s )) s"; tail -2 $O/san-$tool.log; done
