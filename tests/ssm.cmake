# tests/ssm.cmake: the CPU mixer (runtime/rt_ssm*.c), its thread pool
# (runtime/rt_pool.c) and their benchmark.  The executables are built straight
# from those sources so that they do not depend on the rest of the runtime.
get_filename_component(SSDC_SSM_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
file(GLOB SSDC_SSM_SOURCES CONFIGURE_DEPENDS ${SSDC_SSM_ROOT}/runtime/rt_ssm*.c)
add_library(ssdc_ssm_cpu STATIC ${SSDC_SSM_SOURCES} ${SSDC_SSM_ROOT}/runtime/rt_pool.c)
target_include_directories(ssdc_ssm_cpu PUBLIC ${SSDC_SSM_ROOT}/runtime)
target_link_libraries(ssdc_ssm_cpu PUBLIC ssdc_ir Threads::Threads m)

# The hot loops are compiled twice (baseline ISA and AVX2, runtime/rt_ssm_kern.h)
# and picked at run time, so on most machines the baseline copy never runs;
# this library is built with SSDC_SSM_BASELINE_ONLY so that the property tests
# cover it too.
add_library(ssdc_ssm_cpu_base STATIC ${SSDC_SSM_SOURCES} ${SSDC_SSM_ROOT}/runtime/rt_pool.c)
target_include_directories(ssdc_ssm_cpu_base PUBLIC ${SSDC_SSM_ROOT}/runtime)
target_compile_definitions(ssdc_ssm_cpu_base PRIVATE SSDC_SSM_BASELINE_ONLY)
target_link_libraries(ssdc_ssm_cpu_base PUBLIC ssdc_ir Threads::Threads m)

foreach(t test_ssm_props test_ssm_check test_pool)
  add_executable(${t} ${CMAKE_CURRENT_LIST_DIR}/ssm/${t}.c)
  target_link_libraries(${t} PRIVATE ssdc_ssm_cpu)
endforeach()
add_executable(test_ssm_props_base ${CMAKE_CURRENT_LIST_DIR}/ssm/test_ssm_props.c)
target_link_libraries(test_ssm_props_base PRIVATE ssdc_ssm_cpu_base)
add_test(NAME ssm_props COMMAND test_ssm_props)
add_test(NAME ssm_props_base_isa COMMAND test_ssm_props_base)
add_test(NAME ssm_check COMMAND test_ssm_check)
add_test(NAME ssm_pool COMMAND test_pool)
set_tests_properties(ssm_props ssm_props_base_isa ssm_check ssm_pool PROPERTIES LABELS cpu
                     TIMEOUT 300)

# Not a test: times the three forms (see bench/NOTES.md, "CPU ssm forms").
add_executable(bench_ssm_cpu ${SSDC_SSM_ROOT}/bench/bench_ssm_cpu.c)
target_link_libraries(bench_ssm_cpu PRIVATE ssdc_ssm_cpu)
