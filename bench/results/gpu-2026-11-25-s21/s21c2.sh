# Session 21 call 2: alpha_vec_probe again with every vector pointer mode
# (featv: alpha vector + host beta; featv0: alpha vector, beta 0; featdv:
# alpha and beta vectors; tokv: an alpha vector along the features, to see
# whether any vector mode exists for bf16 inputs here).
O=$OUT; nvidia-smi -L; date -u
.prebuilt/probes/avp 16384 2>&1 | tee $O/avp.txt
