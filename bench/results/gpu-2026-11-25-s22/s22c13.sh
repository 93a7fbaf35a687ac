# Session 22 call 13: the probes after their operand setup moved into
# bench/ssd_kernel_host.cuh (probe_ops_make): ssd_phase_prof before (k_before)
# and after (k) must print the same hashes; the link-profile build, p1_probe
# (segment 0's states against the chunked kernel's) and overlap_probe run.
O=$OUT; nvidia-smi -L; date -u
P=.prebuilt/probes
for s in "1 1024 4" "8 2048 32" "1 16384 18"; do for v in k_before k; do timeout 30 $P/$v $s | head -2 | tr '\n' ' '; echo; done; done 2>&1 | tee $O/probes.txt
timeout 30 $P/klp 1 1024 4 2>&1 | tail -6 | tee -a $O/probes.txt
timeout 30 $P/p1 1 16384 18 2>&1 | tee -a $O/probes.txt
timeout 60 $P/ov 8 2048 2>&1 | tail -4 | tee -a $O/probes.txt
