# Session 20 call 2: where the folded gated norm's cost in the SSD kernel goes.
# Probes (bench/ssd_phase_prof.cu, built locally with nvcc for sm_90 into
# .prebuilt/probes) of generated kernels at the 2.7b shape and in_proj's
# strides: k0 no gate; z gate tile; z_glob gate loaded in the epilogue
# (session 10); g the folded norm (tile); g_glob its session-10 form; g_tanh
# SiLU by tanh.approx; g_nogw without the norm weight's multiply; g_tanh_nogw
# both; g_noload the gate a constant (no tile copy, no wait).  Sources from
# gen_ssd.c and variants.py.  Two rounds, each shape, kernel alone at 1980 MHz.
O=$OUT; nvidia-smi -L; date -u
for r in 1 2; do
  for a in "8 2048" "1 16384 18"; do
    for k in k0 z z_glob g g_glob g_tanh g_nogw g_tanh_nogw g_noload; do
      echo -n "r$r $k "; timeout 30 .prebuilt/probes/$k $a
    done
  done
done 2>&1 | tee $O/probes.txt
