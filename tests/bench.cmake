# tests/bench.cmake: the standalone bench/ probes (most include codegen/cuda's
# kernel templates) still compile (bench/probes_build.sh; nvcc only, no GPU:
# skipped where there is no nvcc).
add_test(NAME bench_probes COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/../bench/probes_build.sh)
set_tests_properties(bench_probes PROPERTIES LABELS cpu SKIP_RETURN_CODE 77 TIMEOUT 600)
