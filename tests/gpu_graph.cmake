# tests/gpu_graph.cmake: CUDA-graph decode and the allocation-free decode
# step of runtime/rt_gpu_model.c on the golden fixtures: graphs on == off ==
# the goldens' greedy continuations, replayed logits == uncaptured ones, batch
# changes and resets.  Label gpu (exits 77, skipped, where there is no
# driver).  The timing run (test_gpu_graph --bench) is left to
# tests/gpu_model/graph_run.sh.
get_filename_component(SSDC_GG_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
add_executable(test_gpu_graph ${SSDC_GG_ROOT}/tests/gpu_model/test_gpu_graph.c)
target_link_libraries(test_gpu_graph PRIVATE ssdc_runtime ssdc_codegen ssdc_passes
                      ssdc_frontend ssdc_ir Threads::Threads m ${CMAKE_DL_LIBS})
add_test(NAME gpu_graph_golden COMMAND test_gpu_graph ${SSDC_GOLDEN_GPU_CASES})
set_tests_properties(gpu_graph_golden PROPERTIES LABELS gpu SKIP_RETURN_CODE 77 TIMEOUT 300)
add_test(NAME gpu_graph_fused COMMAND test_gpu_graph --fused)
set_tests_properties(gpu_graph_fused PROPERTIES LABELS gpu SKIP_RETURN_CODE 77 TIMEOUT 300)
