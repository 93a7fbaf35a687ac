# Session 20 call 6: test_ssd_gpu after the fix to call 5's one failure (the
# misaligned-gate refusal assumed the tile kernel, which SSDC_SSD_WG=1 does
# not run), on both kernels.
O=$OUT; nvidia-smi -L; date -u
for w in 0 1; do SSDC_SSD_WG=$w timeout 200 .prebuilt/test_ssd_gpu > $O/test-wg$w.log 2>&1; echo "test_ssd_gpu wg=$w rc $?"; grep -E "FAIL|tile:|passed" $O/test-wg$w.log | tail -3; done
