# Session 22 call 3: where the state-only kernel's time goes (bench/p1_probe.cu
# variants, built locally): p1 as in call 2; p1_nomma without the state
# update; p1_noload reusing the first two chunks' tiles (no copies after);
# p1_none neither; p1_noscale without x's scaling by w (generated source with
# ssd_scale_xt's call removed); p1_dense with dense x, B, dt rows (x 5120,
# B 128, dt 80 apart) instead of the model's 10576.  2 rounds.
O=$OUT; nvidia-smi -L; date -u
P=.prebuilt/probes
for r in 1 2; do
  for s in "1 16384 18" "8 2048 16"; do
    for v in p1 p1_nomma p1_noload p1_none p1_noscale p1_dense; do
      echo -n "r$r $v "; timeout 30 $P/$v $s | cut -c1-80
    done
  done
done 2>&1 | tee $O/p1var.txt
