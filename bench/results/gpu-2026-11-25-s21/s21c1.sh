# Session 21 call 1: two questions before building anything.
# (a) alpha_vec_probe (bench/alpha_vec_probe.cu, built locally): can cuBLASLt
#     scale out_proj's rows per token (the gated norm's r_t) at full speed?
# (b) the SSD kernel alone (bench/ssd_phase_prof.cu on gen_ssd.c's 2.7b
#     source, k0) against k0_nop1 (phase 1 removed: nop1.py; wrong results,
#     time only) over segment lengths at 1x16K and 8x2K: what a free state
#     pass would give; k0_lp: the look-back timeline per segment at 1x16K.
O=$OUT; nvidia-smi -L; date -u
nvidia-smi -q -d POWER | grep -i -E "limit|draw" | head -8
P=.prebuilt/probes
( $P/avp 16384; $P/avp 8192 ) 2>&1 | tee $O/avp.txt
for r in 1 2; do
  for sc in 8 11 14 18 22 27 32 43 64 256; do
    for k in k0 k0_nop1; do echo -n "r$r $k "; timeout 30 $P/$k 1 16384 $sc; done
  done
  for sc in 32 22 16 11 8; do
    for k in k0 k0_nop1; do echo -n "r$r $k "; timeout 30 $P/$k 8 2048 $sc; done
  done
done 2>&1 | tee $O/ssd.txt
timeout 60 $P/k0_lp 1 16384 18 2>&1 | tee $O/lp.txt
