# Session 13 call 3: head vs new beside mamba_ssm (PEER=1), a prefill profile, the SSD segment length in the model
O=$OUT; T=/tmp/s13c3; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
A=.prebuilt/ssdc-head B=.prebuilt/ssdc PEER=1 ONLY='2.7b-bf16' OUT=$T/ab timeout 560 bash bench/ab_gpu.sh 2 > $T/ab.txt 2>&1; echo "ab rc $?"
cp $T/ab.txt $O/ab.txt; cp $T/ab/anchors.json $O/anchors.json 2>/dev/null; cat $T/ab.txt; tail -5 $T/ab/peer.log
