# Session 31, call 5: where the 1x16K prefill's wall clock (182 ms in call 4) exceeds the sum of its
# nodes' device times (174 ms in call 3's profile; 8x2K: 172 against 169).  The timed prefill
# (ssdc bench, median of 3 after a warm-up) at 1x16K and 8x2K: the default; SSDC_PDL=0 (no
# programmatic launches); SSDC_GNORM_FOLD=0 (batch 1 without the gated-norm fold: the norm in the
# SSD kernel's tail, as 8x2K runs); the default again; then the profile once more.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
run() { # name env...
  local n=$1; shift
  env "$@" timeout 150 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd \
    --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 1x16384,8x2048 --decode-batch 1 --decode-tokens 2 \
    --out $T/b-$n.json > $T/$n.log 2>&1; echo "$n rc $? $(grep -E '^prefill' $T/$n.log | awk '{printf "%s %s ms  ", $2, $3}')"
}
run def
run nopdl SSDC_PDL=0
run nofold SSDC_GNORM_FOLD=0
run def2
SSDC_PROFILE=1 timeout 150 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd \
    --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 1x16384 --decode-batch 1 --decode-tokens 2 \
    --out $T/b-prof.json > $T/prof.log 2>&1; echo "prof rc $?"
awk '/forward/{c++} c>=2' $T/prof.log | grep -E "^ssdc profile" 
cd $T && tar czf logs.tgz *.log *.json && rm -f *.log b-*.json
