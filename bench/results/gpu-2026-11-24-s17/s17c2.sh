# Session 17 call 2: why the 2.7b bench timed out with SSDC_SSD_WG=1 (call 1), and where the
# warp-specialised wgmma kernel's chunk loop stalls (ncu warp states and per-instruction samples).
O=$OUT; T=/tmp/s17c2; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c17
which ncu cuobjdump compute-sanitizer
nvcc -I. -I.prebuilt -lineinfo -gencode arch=compute_90a,code=sm_90a -std=c++17 -DKSRC='"wg.cu"' -DSMEM_T=wg_smem bench/ssd_phase_prof.cu -o $T/wg 2>&1 | grep -v Wno &
nvcc -I. -I.prebuilt -lineinfo -gencode arch=compute_90a,code=sm_90a -std=c++17 -DKSRC='"mma.cu"' -DSMEM_T=ssd_smem bench/ssd_phase_prof.cu -o $T/mma 2>&1 | grep -v Wno &
for m in "" "--set d_model=2560 --set n_layer=64"; do
  for p in 1x2048 8x2048; do
    s=$(date +%s.%N)
    SSDC_SSD_WG=1 timeout 40 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd --dtype bf16 $m --prefill $p --decode-batch "" > $T/b.log 2>&1
    echo "wg [$m] $p rc $? $(echo "$(date +%s.%N) - $s" | bc) s"; tail -4 $T/b.log
  done
done
SSDC_SSD_WG=1 timeout 90 .prebuilt/test_gpu_golden > $T/golden-wg.log 2>&1; echo "golden wg rc $?"; grep -iE "fail|passed|error" $T/golden-wg.log | head -8
wait
cuobjdump -sass $T/wg > $T/wg.sass 2>&1; grep -c HGMMA $T/wg.sass
for k in wg mma; do
  timeout 150 ncu -k regex:ssd_ -c 1 --section WarpStateStats --section SchedulerStats --section SourceCounters --section Occupancy --import-source yes -o $T/$k $T/$k 8 8192 > $T/ncu-$k.log 2>&1; echo "ncu $k rc $?"
  ncu -i $T/$k.ncu-rep --page details > $T/$k-details.txt 2>&1
  grep -E "Stall|Warp Cycles|Issued|Eligible|Active Warps|No Eligible|Theoretical Occ|Achieved Occ" $T/$k-details.txt | head -40
  ncu -i $T/$k.ncu-rep --page source --csv --print-source sass > $T/$k-src.csv 2>&1; wc -l $T/$k-src.csv
done
python3 - $T/wg-src.csv <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
h = rows[0]; print(h[:12])
ci = [i for i, c in enumerate(h) if 'Sampling' in c and 'All' in c]
print([h[i] for i in ci])
if ci:
    k = ci[0]; body = [r for r in rows[1:] if len(r) > k and r[k].replace('.','',1).isdigit()]
    tot = sum(float(r[k]) for r in body) or 1
    for r in sorted(body, key=lambda r: -float(r[k]))[:45]:
        print(f"{100*float(r[k])/tot:5.1f}%  {r[0][:6]}  {r[1][:90]}")
PY
cp $T/wg.sass $T/wg-details.txt $T/mma-details.txt $T/wg-src.csv $O/ 2>/dev/null
