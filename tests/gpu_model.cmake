# tests/gpu_model.cmake: whole models on the GPU (runtime/rt_gpu_model.c,
# codegen/cuda/gm_ops.cuh) against the golden fixtures: fp32 forward, cached
# prefill + decode == forward, greedy tokens, bad ids.  Label gpu (exits 77,
# skipped, where there is no driver).  The mamba_ssm-format case needs a
# conversion first and is left to tests/exec.
get_filename_component(SSDC_GM_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
add_executable(test_gpu_golden ${SSDC_GM_ROOT}/tests/gpu_model/test_gpu_golden.c)
target_link_libraries(test_gpu_golden PRIVATE ssdc_runtime ssdc_codegen ssdc_passes
                      ssdc_frontend ssdc_ir Threads::Threads m ${CMAKE_DL_LIBS})
add_test(NAME gpu_model_golden COMMAND test_gpu_golden ${SSDC_GOLDEN_GPU_CASES})
set_tests_properties(gpu_model_golden PROPERTIES LABELS gpu SKIP_RETURN_CODE 77 TIMEOUT 300)
