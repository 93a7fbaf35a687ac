# Session 33, call 10: where the own GEMM's persistent blocks land (bench/sm_map_probe.cu): the
# default launch's blockIdx -> %smid map, three launches, and which SMs share a GPC (clusters of 8).
set -uo pipefail
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $OUT/gpu.txt
nvcc -arch=sm_90a -o /tmp/smp bench/sm_map_probe.cu && /tmp/smp > $OUT/smmap.txt 2>&1; echo "probe rc $?"; cat $OUT/smmap.txt
