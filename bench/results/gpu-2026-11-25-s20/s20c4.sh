# Session 20 call 4: the state update moved before the epilogue (sufirst.py on
# the generated source: the gate tile's copy, the y stores and the state
# update's mma overlap): k3 / z3 / g3 against k0 / z2 / g2 (no gate, gate,
# folded norm; z2 and g2 are this session's tile kernels as committed).
O=$OUT; nvidia-smi -L; date -u
for r in 1 2; do for a in "8 2048" "1 16384 18" "8 8192"; do for k in k0 k3 z2 z3 g2 g3; do
  echo -n "r$r $k "; timeout 30 .prebuilt/probes/$k $a; done; done; done 2>&1 | tee $O/probes4.txt
