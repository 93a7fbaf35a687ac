O=$OUT
A=.prebuilt/ssdc-head B=.prebuilt/ssdc-u ONLY='130m-dec' OUT=$O/ab bash bench/ab_gpu.sh 4 > $O/ab1.txt 2>&1; tail -12 $O/ab1.txt
A=.prebuilt/ssdc-head B=.prebuilt/ssdc-u ONLY='2.7b-dec' OUT=$O/ab2 bash bench/ab_gpu.sh 1 > $O/ab2.txt 2>&1; tail -8 $O/ab2.txt
