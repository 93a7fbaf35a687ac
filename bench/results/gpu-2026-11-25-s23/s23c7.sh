# Session 23, call 7: ssd_state_update through an addressing functor (ssd_state_update_at, so that
# bench/p1_probe.cu's swizzled tiles share it).  32 of 36 generated kernels compile to the same
# cubin as before; the SASS of the 4 that differ (ps 32, N 64), before and after; test_ssd_gpu on
# the new source; the probes (cp.async and TMA) on the shared function, states against the kernel's.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name --format=csv,noheader > $T/gpu.txt
for v in ps32-n64-g-ni0 ps32-n64-g-ni1 ps32-n64-n-ni0 ps32-n64-n-ni1; do
  for w in base new; do cuobjdump -sass .prebuilt/sass/$v-$w.cubin | grep -E '^\s+/\*[0-9a-f]{4}\*/' | sed -E 's@/\*[0-9a-f]{4}\*/@@; s@ ;.*@@' > /tmp/$v-$w.sass; done
  echo "$v: $(wc -l < /tmp/$v-base.sass) / $(wc -l < /tmp/$v-new.sass) instructions, sorted multisets $(cmp -s <(sort /tmp/$v-base.sass) <(sort /tmp/$v-new.sass) && echo equal || echo differ), diff lines $(diff /tmp/$v-base.sass /tmp/$v-new.sass | grep -c '^[<>]')"
done | tee $T/sass.txt
diff /tmp/ps32-n64-n-ni1-base.sass /tmp/ps32-n64-n-ni1-new.sass | head -60 > $T/sass-diff.txt
timeout 400 .prebuilt/test_ssd_gpu > $T/test_ssd_gpu.log 2>&1; echo "test_ssd_gpu rc $?"; tail -3 $T/test_ssd_gpu.log
for r in 1 2; do for v in s2 s2t; do echo "r$r $v $(timeout 30 .prebuilt/probes/p1_$v 1 16384 18)"; done; done | tee $T/p1.txt
