# Session 22 call 11: phase 3 with the state update first (right after the
# chunk's tiles arrive, before C B^T and C S^T) so that B is dead at
# chunk_y's barrier and the next chunk's B is copied there with C, leaving
# only x's copy after the epilogue.  k_skip* = the kernel of call 6's change,
# k_bf* = this one (generated 2.7b source: no init / init (i) / no final
# state (_nf) / folded gated norm (g)).  Hashes must agree pairwise (not for
# _nf, whose final-state buffer is never written).  3 rounds, interleaved.
O=$OUT; nvidia-smi -L; date -u
P=.prebuilt/probes
for r in 1 2 3; do
  for s in "8 2048 32" "1 16384 18" "1 8192 16" "8 8192 128" "1 1024 4" "1 2048 8"; do
    for v in k_skip k_bf k_skipi k_bfi k_skip_nf k_bf_nf k_skipg k_bfg; do echo -n "r$r "; timeout 30 $P/$v $s | head -2 | tr '\n' ' '; echo; done
  done
done 2>&1 | sed -e 's/ per launch//' -e 's/, smem 71[0-9]*)//' | tee $O/bf.txt > /dev/null
python3 - $O/bf.txt <<'PY'
import re,sys,collections
d=collections.defaultdict(list); h={}
for l in open(sys.argv[1]):
    m=re.match(r'r\d (\S+)\.cu (\d+x\d+): ([\d.]+) ms.*hash (\w+)',l)
    if m: d[(m[2],m[1])].append(float(m[3])); h[(m[2],m[1])]=m[4]
for k in sorted(d): print(k[0], k[1], " ".join("%.4f"%v for v in d[k]), "mean %.4f"%(sum(d[k])/len(d[k])), h[k])
PY
