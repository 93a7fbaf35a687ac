# tests/cuda.cmake: the CUDA backend's tests (codegen/, runtime/rt_cuda*).
# cpu: the kernel cache, NVRTC, and `ssdc compile` making kernel packs for every
#      shipped model on a dry-run device and using them without NVRTC (needs
#      libnvrtc, not a GPU; set SSDC_NO_CUDA_TOOLKIT=1 where there is none).
# gpu: the generated kernels against the float64 reference (bench/gpu.sh runs
#      the same executables on the device machine).
get_filename_component(SSDC_CUDA_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
add_executable(test_cg_cache ${SSDC_CUDA_ROOT}/tests/cuda/test_cg_cache.c)
target_link_libraries(test_cg_cache PRIVATE ssdc_codegen)
add_test(NAME cg_cache COMMAND test_cg_cache)

add_executable(test_cg_nvrtc ${SSDC_CUDA_ROOT}/tests/cuda/test_cg_nvrtc.c)
target_link_libraries(test_cg_nvrtc PRIVATE ssdc_codegen)
add_test(NAME cg_nvrtc COMMAND test_cg_nvrtc)

add_executable(test_pack ${SSDC_CUDA_ROOT}/tests/cuda/test_pack.c)
target_include_directories(test_pack PRIVATE ${SSDC_CUDA_ROOT}/runtime)
target_link_libraries(test_pack PRIVATE ssdc_runtime)
add_test(NAME pack COMMAND test_pack ${SSDC_CUDA_ROOT}/models ${SSDC_CUDA_ROOT}/tests/golden)

set_tests_properties(cg_cache cg_nvrtc pack PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)

add_executable(test_ssd_gpu ${SSDC_CUDA_ROOT}/tests/cuda/test_ssd_gpu.c
               ${SSDC_CUDA_ROOT}/runtime/rt_cuda.c ${SSDC_CUDA_ROOT}/runtime/rt_cuda_emu.c ${SSDC_CUDA_ROOT}/runtime/rt_cuda_ssd.c
               ${SSDC_CUDA_ROOT}/runtime/rt_ssm_ref.c)
target_include_directories(test_ssd_gpu PRIVATE ${SSDC_CUDA_ROOT}/runtime)
target_link_libraries(test_ssd_gpu PRIVATE ssdc_codegen m)
add_test(NAME ssd_gpu COMMAND test_ssd_gpu)
# the wgmma chunked kernel (sm_90), on the same cases where it fits
add_test(NAME ssd_gpu_wg COMMAND test_ssd_gpu)
set_tests_properties(ssd_gpu ssd_gpu_wg PROPERTIES LABELS gpu)
set_tests_properties(ssd_gpu_wg PROPERTIES ENVIRONMENT SSDC_SSD_WG=1)

# the SSD kernels' benchmark (bench/gpu.sh runs it; built here so CI compiles it)
add_executable(bench_ssd_gpu ${SSDC_CUDA_ROOT}/bench/bench_ssd_gpu.c
               ${SSDC_CUDA_ROOT}/runtime/rt_cuda.c ${SSDC_CUDA_ROOT}/runtime/rt_cuda_emu.c ${SSDC_CUDA_ROOT}/runtime/rt_cuda_ssd.c)
target_include_directories(bench_ssd_gpu PRIVATE ${SSDC_CUDA_ROOT}/runtime)
target_link_libraries(bench_ssd_gpu PRIVATE ssdc_codegen m)
