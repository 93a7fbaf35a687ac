# Session 22 call 12: the record for the closing note: the 2.7b prefill,
# A = 532d11d (before this session) against B = 93c119e (phase 3 without the
# dead last state update), 2 rounds, mamba_ssm's MambaLMHeadModel in the same
# call (bench/ab_gpu.sh PEER=1).
O=$OUT; T=/tmp/s22c12; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
A=.prebuilt/ssdc-old B=.prebuilt/ssdc ONLY='^2.7b-pre$' PEER=1 OUT=$T/ab timeout 500 bash bench/ab_gpu.sh 2 > $T/ab.txt 2>&1; echo "ab rc $?"
cp $T/ab.txt $O/ab.txt; cp $T/ab/anchors.json $O/anchors.json 2>/dev/null; cp $T/ab/peer.log $O/ 2>/dev/null; tail -12 $T/ab.txt
