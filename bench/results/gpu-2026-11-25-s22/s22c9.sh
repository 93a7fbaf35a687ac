# Session 22 call 9: the state-only pass with B shared by 1, 2 or 4 heads a
# block (bench/p1_probe.cu's p1_multi, built locally with -DHPB=1/2/4; each
# run also times p1_ext and the chunked kernel, and compares p1_multi's states
# with p1_ext's bit for bit).  Generated 2.7b source (no init).  2 rounds.
O=$OUT; nvidia-smi -L; date -u
P=.prebuilt/probes
for r in 1 2; do
  for s in "1 16384 18" "1 16384 27" "1 8192 16" "8 2048 16" "1 32768 36"; do
    for h in 1 2 4; do echo "r$r hpb$h $s"; timeout 30 $P/p1m$h $s; done
  done
done 2>&1 | tee $O/p1m.txt
