# Session 20 call 7: test_ssd_gpu on the final code (4b569eb: the review's
# ssd_gw_at helper, the gate-tile case at 300 tokens), both kernels.
O=$OUT; nvidia-smi -L; date -u
for w in 0 1; do SSDC_SSD_WG=$w timeout 200 .prebuilt/test_ssd_gpu > $O/test-wg$w.log 2>&1; echo "test_ssd_gpu wg=$w rc $?"; grep -E "FAIL|tile:|passed" $O/test-wg$w.log | tail -3; done
