# tests/cuda_exec.cmake: the GPU executor's kernels (codegen/cg_cuda_ops.c,
# codegen/cuda/ops_*.cuh, s6_scan.cuh), cuBLASLt GEMMs and launchers
# (runtime/rt_cublaslt.c, runtime/rt_cuda_exec.c).
# cpu: every op template compiles through NVRTC for sm_80 and sm_90.
# gpu: every kernel and GEMM against the CPU kernels (rt_ops, rt_ssm_ref).
get_filename_component(SSDC_CX_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
add_executable(test_ops_nvrtc ${SSDC_CX_ROOT}/tests/cuda_exec/test_ops_nvrtc.c)
target_link_libraries(test_ops_nvrtc PRIVATE ssdc_codegen)
add_test(NAME ops_nvrtc COMMAND test_ops_nvrtc)
set_tests_properties(ops_nvrtc PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)

add_executable(test_ops_gpu ${SSDC_CX_ROOT}/tests/cuda_exec/test_ops_gpu.c
               ${SSDC_CX_ROOT}/runtime/rt_cuda.c ${SSDC_CX_ROOT}/runtime/rt_cuda_emu.c ${SSDC_CX_ROOT}/runtime/rt_cuda_exec.c
               ${SSDC_CX_ROOT}/runtime/rt_cublaslt.c ${SSDC_CX_ROOT}/runtime/rt_ops.c
               ${SSDC_CX_ROOT}/runtime/rt_pool.c ${SSDC_CX_ROOT}/runtime/rt_ssm_ref.c
               ${SSDC_CX_ROOT}/runtime/rt_cuda_ssd.c)
target_include_directories(test_ops_gpu PRIVATE ${SSDC_CX_ROOT}/runtime)
target_link_libraries(test_ops_gpu PRIVATE ssdc_codegen m)
add_test(NAME ops_gpu COMMAND test_ops_gpu)
set_tests_properties(ops_gpu PROPERTIES LABELS gpu)

add_executable(test_ops_s6_model ${SSDC_CX_ROOT}/tests/cuda_exec/test_ops_s6_model.c)
target_link_libraries(test_ops_s6_model PRIVATE ssdc_codegen ssdc_passes ssdc_frontend)
add_test(NAME ops_s6_model COMMAND test_ops_s6_model ${SSDC_CX_ROOT}/models)
set_tests_properties(ops_s6_model PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
