# tests/emu.cmake: the GPU tests on the emulated device (runtime/rt_cuda_emu.c),
# in CI.  The same test programs as the gpu label's, with --emu: every kernel
# ssdc generates for them is compiled by the host's C++ compiler and run on
# the CPU (threads as fibers, warp collectives and tensor-core fragments as
# the PTX ISA lays them out), against the same references and goldens:
# the SSD kernels, the decode kernels, the op kernels and cuBLASLt's place,
# the five golden checkpoints end to end in fp32 and bf16, CUDA-graph decode
# against uncaptured decode, the fused decode kernels against the generic ones, and `ssdc generate --device emu` against the CPU.
get_filename_component(SSDC_EMU_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
# the emulator itself on hand-written kernels: shuffle and barrier semantics,
# deadlocks and endless spins fail instead of hanging, compile errors, graphs
add_executable(test_emu ${SSDC_EMU_ROOT}/tests/cuda/test_emu.c ${SSDC_EMU_ROOT}/runtime/rt_cuda.c
               ${SSDC_EMU_ROOT}/runtime/rt_cuda_emu.c)
target_include_directories(test_emu PRIVATE ${SSDC_EMU_ROOT}/runtime)
target_link_libraries(test_emu PRIVATE ssdc_codegen m)
add_test(NAME emu_self COMMAND test_emu)
add_test(NAME emu_ssd COMMAND test_ssd_gpu --emu)
# the same cases on the wgmma kernel (codegen/cuda/ssd_wg.cuh) where it fits
add_test(NAME emu_ssd_wg COMMAND test_ssd_gpu --emu)
add_test(NAME emu_dec COMMAND test_dec_gpu --emu)
add_test(NAME emu_ops COMMAND test_ops_gpu --emu)
add_test(NAME emu_golden COMMAND test_gpu_golden --emu ${SSDC_GOLDEN_GPU_CASES})
add_test(NAME emu_graph COMMAND test_gpu_graph --emu ${SSDC_GOLDEN_GPU_CASES})
add_test(NAME emu_graph_fused COMMAND test_gpu_graph --emu --fused decode)
add_test(NAME emu_graph_plans COMMAND test_gpu_graph --emu --fused plans)
add_test(NAME emu_graph_gemm COMMAND test_gpu_graph --emu --fused gemm)
# greedy tokens of the GPU executor on the emulated device == the CPU's
foreach(case mamba2_g2 bamba)
  add_test(NAME emu_cli_generate_${case}
           COMMAND sh -c [=[a=$("$1" generate --model "$2" --prompt-ids 3,1,4,1,5 --max-new-tokens 6 --device cpu) && b=$("$1" generate --model "$2" --prompt-ids 3,1,4,1,5 --max-new-tokens 6 --device emu) && echo "cpu: $a" && echo "emu: $b" && [ -n "$a" ] && [ "$a" = "$b" ]]=]
                   sh $<TARGET_FILE:ssdc> ${SSDC_EMU_ROOT}/tests/golden/${case})
  list(APPEND SSDC_EMU_CLI emu_cli_generate_${case})
endforeach()
# $SSDC_PROFILE on the GPU executor: a table per forward, rows per model line
add_test(NAME emu_cli_profile
         COMMAND sh -c [=[d=$(mktemp -d) && SSDC_PROFILE=1 "$1" run --model "$2" --input "$2/input.safetensors" --output "$d/o.safetensors" --device emu --dtype bf16 2>"$d/err"; rc=$?; cat "$d/err"; grep -q "^ssdc profile (gpu, forward 2x37): [0-9.]* ms" "$d/err" && grep -qE "^  ssm +mamba2.ssd:[0-9]+ .* 2 runs" "$d/err" && grep -qE "^  linear +mamba2.ssd:[0-9]+ .* TFLOP/s" "$d/err" && [ $rc = 0 ]; ok=$?; rm -rf "$d"; exit $ok]=]
                 sh $<TARGET_FILE:ssdc> ${SSDC_EMU_ROOT}/tests/golden/mamba2_g2)
list(APPEND SSDC_EMU_CLI emu_cli_profile)
set_tests_properties(emu_self emu_ssd emu_ssd_wg emu_dec emu_ops emu_golden emu_graph emu_graph_fused emu_graph_plans emu_graph_gemm ${SSDC_EMU_CLI} PROPERTIES
                     LABELS cpu TIMEOUT 900
                     ENVIRONMENT SSDC_CACHE_DIR=${CMAKE_CURRENT_BINARY_DIR}/ssdc-emu-cache)
set_tests_properties(emu_ssd_wg PROPERTIES ENVIRONMENT
                     "SSDC_SSD_WG=1;SSDC_CACHE_DIR=${CMAKE_CURRENT_BINARY_DIR}/ssdc-emu-cache")
# The fused test compares the fused decode step and nine executor plans on
# whole models; under ASan+UBSan it ran past 900 s once the side-stream check
# joined it (session 18) and took 1032 s of 1500 with session 27's, so it
# runs as parts (decode and plans: 584 and 985 s in session 29, the plans
# with the own-GEMM check, which session 30 moved to a third part, gemm,
# beside the conv in in_proj's epilogue).  The two SSD kernel tests run every chunked case through the
# emulated kernels: emu_ssd_wg ran past 900 s once session 20's gate-tile
# case joined them, and with session 28's chained cases they take 863 and
# 1041 s under the sanitizers.  emu_graph ran past 900 s in CI (session 34's
# run); session 35 compiled the sanitized kernels at -O1 and stopped
# unpoisoning whole fiber stacks per block (tools/test.sh,
# codegen/cuda/emu_prelude.cuh), which cut it to 269 s in session 35's
# clean-clone run (emu_dec: 230 s), and both share the longer limit against
# a slower machine.
set_tests_properties(emu_graph emu_dec emu_graph_fused emu_graph_plans emu_graph_gemm emu_ssd emu_ssd_wg PROPERTIES TIMEOUT 1500)
