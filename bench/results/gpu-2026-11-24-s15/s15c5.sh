# Session 15 call 5: whole models, A = HEAD (0d75187) / B = working tree (fragment-major look-back
# states, phase 3's first tiles before the link), 2 rounds, mamba_ssm's MambaLMHeadModel in the same call
O=$OUT; T=/tmp/s15c5; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
A=.prebuilt/ssdc-head B=.prebuilt/ssdc ONLY='^(2.7b-pre|130m-bf16)$' PEER=1 OUT=$T/ab timeout 560 bash bench/ab_gpu.sh 2 > $T/ab.txt 2>&1; echo "ab rc $?"
cp $T/ab.txt $O/ab.txt; cp $T/ab/anchors.json $O/anchors.json 2>/dev/null; tail -30 $T/ab.txt
