# Session 22 call 14: phase 3 alternating the x and C B^T tiles (ssd_x_swap in
# ssd_chunked.cuh): each warp copies its 16 rows of the next chunk's x into
# this chunk's C B^T tile after its (L o C B^T) X, so the copy after the
# state update's barrier is B's alone.  k_skip* = HEAD (6bed2ce's kernel),
# k_pp* = the change; generated 2.7b source: no init, init (i), gate (z),
# folded gated norm (g), no final state (_nf).  Hashes must agree pairwise.
# 3 rounds, interleaved.
O=$OUT; nvidia-smi -L; date -u
P=.prebuilt/probes
for r in 1 2 3; do
  for s in "8 2048 32" "1 16384 18" "1 8192 16" "8 8192 128" "1 1024 4" "1 2048 8" "32 2048 32"; do
    for v in k_skip k_pp k_skipi k_ppi k_skip_nf k_pp_nf k_skipz k_ppz k_skipg k_ppg; do echo -n "r$r "; timeout 30 $P/$v $s | head -2 | tr '\n' ' '; echo; done
  done
done 2>&1 | sed -e 's/ per launch//' -e 's/, smem 71[0-9]*)//' > $O/pp.txt
python3 - $O/pp.txt <<'PY'
import re,sys,collections
d=collections.defaultdict(list); h={}
for l in open(sys.argv[1]):
    m=re.match(r'r\d (\S+)\.cu (\d+x\d+): ([\d.]+) ms.*hash (\w+)',l)
    if m: d[(m[2],m[1])].append(float(m[3])); h[(m[2],m[1])]=m[4]
shapes=sorted({k[0] for k in d})
for sh in shapes:
    for a,b in [("k_skip","k_pp"),("k_skipi","k_ppi"),("k_skip_nf","k_pp_nf"),("k_skipz","k_ppz"),("k_skipg","k_ppg")]:
        if (sh,a) in d and (sh,b) in d:
            ma=sum(d[(sh,a)])/len(d[(sh,a)]); mb=sum(d[(sh,b)])/len(d[(sh,b)])
            print(f"{sh:8s} {a:10s} {ma:.4f} {b:8s} {mb:.4f} {100*(mb/ma-1):+.1f}%  hashes {'equal' if h[(sh,a)]==h[(sh,b)] else 'DIFFER'}")
PY
