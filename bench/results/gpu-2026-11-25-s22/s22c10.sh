# Session 22 call 10: ncu on the state-only kernel (bench/p1_probe.cu's p1_ext,
# HPB build irrelevant) at 1x16K, 18 chunks a segment: what bounds it.
O=$OUT; nvidia-smi -L; date -u
P=.prebuilt/probes
command -v ncu || ls /usr/local/cuda/bin | grep -i ncu
timeout 300 ncu -k p1_ext -c 1 --set full $P/p1m2 1 16384 18 > $O/ncu_p1.txt 2>&1; echo "ncu rc $?"
grep -E "Duration|DRAM Throughput|L2 Cache Throughput|L1/TEX Cache Throughput|Compute \(SM\) Throughput|Memory Throughput|Achieved Occupancy|Registers Per|Issue Slots Busy|Eligible Warps|Warp Cycles Per Issued|Stall|No Eligible|Mem Busy|Max Bandwidth|L2 Hit|Block Limit" $O/ncu_p1.txt | head -60
