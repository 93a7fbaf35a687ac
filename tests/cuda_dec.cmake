# tests/cuda_dec.cmake: the decode-step kernels (codegen/cg_cuda_dec.c,
# codegen/cuda/dec_*.cuh, runtime/rt_cuda_dec.c).
# cpu: every decode template compiles through NVRTC for sm_80 and sm_90.
# gpu: the GEMV against a float64 reference and cuBLASLt's shape convention,
#      the mixer against rt_conv1d + SiLU + rt_ssm_ref_f64 over several steps.
get_filename_component(SSDC_CD_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
add_executable(test_dec_nvrtc ${SSDC_CD_ROOT}/tests/cuda_dec/test_dec_nvrtc.c)
target_link_libraries(test_dec_nvrtc PRIVATE ssdc_codegen)
add_test(NAME dec_nvrtc COMMAND test_dec_nvrtc)
set_tests_properties(dec_nvrtc PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)

set(SSDC_CD_RT ${SSDC_CD_ROOT}/runtime/rt_cuda.c ${SSDC_CD_ROOT}/runtime/rt_cuda_emu.c ${SSDC_CD_ROOT}/runtime/rt_cuda_dec.c)
add_executable(test_dec_gpu ${SSDC_CD_ROOT}/tests/cuda_dec/test_dec_gpu.c ${SSDC_CD_RT}
               ${SSDC_CD_ROOT}/runtime/rt_ops.c ${SSDC_CD_ROOT}/runtime/rt_pool.c
               ${SSDC_CD_ROOT}/runtime/rt_ssm_ref.c)
target_include_directories(test_dec_gpu PRIVATE ${SSDC_CD_ROOT}/runtime)
target_link_libraries(test_dec_gpu PRIVATE ssdc_codegen m)
add_test(NAME dec_gpu COMMAND test_dec_gpu)
set_tests_properties(dec_gpu PROPERTIES LABELS gpu)

add_executable(bench_dec_gpu ${SSDC_CD_ROOT}/bench/bench_dec_gpu.c ${SSDC_CD_RT}
               ${SSDC_CD_ROOT}/runtime/rt_cublaslt.c ${SSDC_CD_ROOT}/runtime/rt_cuda_exec.c)
target_include_directories(bench_dec_gpu PRIVATE ${SSDC_CD_ROOT}/runtime
                           ${SSDC_CD_ROOT}/tests/cuda_dec)
target_link_libraries(bench_dec_gpu PRIVATE ssdc_codegen m)
