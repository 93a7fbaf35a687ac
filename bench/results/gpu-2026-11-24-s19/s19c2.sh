# Session 19 call 2: why the SSD kernel takes ~0.60 ms a layer in the 2.7b
# 8x2K prefill (SSDC_PROFILE) and 0.457 alone: the SM clock, power and
# throttle reasons sampled every 20 ms during the prefills, with marks.
O=$OUT; T=/tmp/s19c2; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c19
nvidia-smi -q -d CLOCK,POWER,PERFORMANCE > $T/smi-q.txt 2>&1
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_event_reasons.active --format=csv,noheader -lms 20 > $T/clk.csv 2>&1 &
P=$!
m() { echo "MARK $(date +%Y/%m/%d\ %H:%M:%S.%3N) $*" >> $T/marks.txt; }
A="--dtype bf16 --set d_model=2560 --set n_layer=64 --decode-batch 1 --decode-tokens 8"
m start; sleep 1
for s in 8x2048 1x16384; do
  m "bench $s"; timeout 100 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd $A --prefill $s --out $T/b-$s.json > $T/b-$s.log 2>&1; echo "bench $s rc $?"
  m "profile $s"; SSDC_PROFILE=1 timeout 100 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd $A --prefill $s --out $T/p-$s.json > $T/p-$s.log 2>&1; echo "prof $s rc $?"
done
m end; sleep 1; kill $P
grep -E "prefill|ms" $T/b-*.log | head -20
for s in 8x2048 1x16384; do grep -A9 "forward $(echo $s | tr x x)" $T/p-$s.log | tail -10; done
grep -iE "power limit|max clocks|SM  |Graphics" $T/smi-q.txt | head -12
python3 - $T/clk.csv $T/marks.txt <<'PY'
import sys, datetime
rows=[]
for l in open(sys.argv[1]):
    p=[x.strip() for x in l.split(',')]
    try: rows.append((datetime.datetime.strptime(p[0],"%Y/%m/%d %H:%M:%S.%f"), int(p[1].split()[0]), float(p[3].split()[0]), p[5]))
    except Exception: pass
marks=[]
for l in open(sys.argv[2]):
    _,d,t,*w=l.split(); marks.append((datetime.datetime.strptime(d+' '+t,"%Y/%m/%d %H:%M:%S.%f"),' '.join(w)))
for (t0,w),(t1,_) in zip(marks,marks[1:]):
    seg=[r for r in rows if t0<=r[0]<t1]
    busy=[r for r in seg if r[2]>250]
    if not seg: continue
    clk=sorted(r[1] for r in busy) or [0]
    pw=sorted(r[2] for r in busy) or [0]
    reasons={}
    for r in busy: reasons[r[3]]=reasons.get(r[3],0)+1
    print(f"{w:18s} samples {len(seg):4d} busy(>250W) {len(busy):4d} sm MHz min {clk[0]} med {clk[len(clk)//2]} max {clk[-1]}  W med {pw[len(pw)//2]:.0f} max {pw[-1]:.0f}  reasons {reasons}")
PY
cp $T/* $O/ 2>/dev/null
