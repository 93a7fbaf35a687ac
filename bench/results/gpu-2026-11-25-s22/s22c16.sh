# Session 22 call 16: L2 hints on the chunked kernel's copies (every 16-byte
# cp.async of the tiles): k = HEAD's generated 2.7b source (no init), k_p128 /
# k_p256 with the L2::128B / L2::256B prefetch-size qualifier (a 128-byte x
# row at a 32-byte offset spans two lines; neighbouring heads read the rest),
# k_ef / k_el with an L2 evict_first / evict_last cache policy.  Hashes must
# agree.  3 rounds, interleaved.
O=$OUT; nvidia-smi -L; date -u
P=.prebuilt/probes
for r in 1 2 3; do
  for s in "8 2048 32" "1 16384 18" "8 8192 128" "1 1024 4"; do
    for v in k k_p128 k_p256 k_ef k_el; do echo -n "r$r "; timeout 30 $P/$v $s | head -2 | tr '\n' ' '; echo; done
  done
done 2>&1 | sed -e 's/ per launch//' -e 's/, smem 71[0-9]*)//' > $O/l2hint.txt
python3 - $O/l2hint.txt <<'PY'
import re,sys,collections
d=collections.defaultdict(list); h={}
for l in open(sys.argv[1]):
    m=re.match(r'r\d (\S+)\.cu (\d+x\d+): ([\d.]+) ms.*hash (\w+)',l)
    if m: d[(m[2],m[1])].append(float(m[3])); h.setdefault(m[2],set()).add(m[4])
for sh in sorted({k[0] for k in d}):
    base=sum(d[(sh,'k')])/3
    print(sh, " ".join(f"{v} {sum(d[(sh,v)])/3:.4f} ({100*(sum(d[(sh,v)])/3/base-1):+.1f}%)" for v in ['k','k_p128','k_p256','k_ef','k_el']), "hashes", len(h[sh]))
PY
