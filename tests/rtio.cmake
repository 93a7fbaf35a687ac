# tests/rtio.cmake: checkpoint and config I/O (runtime/rt_json, rt_safetensors,
# rt_config, rt_weights) and tools/convert_mamba_ssm.py.  The test programs
# compile the runtime I/O sources directly, so they do not depend on the rest
# of ssdc_runtime building.
set(RTIO_TESTS ${CMAKE_CURRENT_LIST_DIR}/rtio)
set(RTIO_RT ${CMAKE_CURRENT_LIST_DIR}/../runtime)
set(RTIO_IO_SOURCES ${RTIO_RT}/rt_json.c ${RTIO_RT}/rt_safetensors.c)

add_executable(test_rtio_json ${RTIO_TESTS}/test_json.c ${RTIO_RT}/rt_json.c)
target_link_libraries(test_rtio_json PRIVATE ssdc_ir)
add_test(NAME rtio_json COMMAND test_rtio_json)

add_executable(test_rtio_safetensors ${RTIO_TESTS}/test_safetensors.c ${RTIO_IO_SOURCES})
target_link_libraries(test_rtio_safetensors PRIVATE ssdc_ir)
add_test(NAME rtio_safetensors COMMAND test_rtio_safetensors ${CMAKE_CURRENT_BINARY_DIR})

add_executable(test_rtio_weights ${RTIO_TESTS}/test_weights.c ${RTIO_IO_SOURCES}
               ${RTIO_RT}/rt_weights.c)
target_link_libraries(test_rtio_weights PRIVATE ssdc_ir)
add_test(NAME rtio_weights COMMAND test_rtio_weights ${CMAKE_CURRENT_BINARY_DIR})

# rt_config needs the frontend (fe_param, fe_set_value, fe_lower).
if(TARGET ssdc_frontend)
  add_executable(test_rtio_config ${RTIO_TESTS}/test_config.c ${RTIO_RT}/rt_json.c
                 ${RTIO_RT}/rt_config.c)
  target_link_libraries(test_rtio_config PRIVATE ssdc_frontend ssdc_ir)
  add_test(NAME rtio_config COMMAND test_rtio_config ${RTIO_TESTS}/configs
           ${CMAKE_CURRENT_LIST_DIR}/../models ${CMAKE_CURRENT_LIST_DIR}/golden)
  set_tests_properties(rtio_config PROPERTIES LABELS cpu)
endif()

set_tests_properties(rtio_json rtio_safetensors rtio_weights PROPERTIES LABELS cpu)

find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_Interpreter_FOUND)
  add_test(NAME rtio_convert
           COMMAND ${Python3_EXECUTABLE} ${RTIO_TESTS}/test_convert.py
                   ${CMAKE_CURRENT_LIST_DIR}/../tools/convert_mamba_ssm.py
                   $<TARGET_FILE:test_rtio_safetensors> ${CMAKE_CURRENT_LIST_DIR}/golden)
  set_tests_properties(rtio_convert PROPERTIES LABELS cpu)
endif()

# libFuzzer: safetensors headers and JSON from raw bytes, bounded to ~30 s.
if(SSDC_FUZZ)
  add_executable(fuzz_rtio ${RTIO_TESTS}/fuzz_rtio.c ${RTIO_IO_SOURCES})
  target_link_libraries(fuzz_rtio PRIVATE ssdc_ir)
  target_compile_options(fuzz_rtio PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_rtio PRIVATE -fsanitize=fuzzer)
  # New inputs go to the build tree; the checked-in seeds stay read-only.
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/rtio_fuzz_corpus)
  add_test(NAME rtio_fuzz
           COMMAND fuzz_rtio -max_total_time=30 -max_len=4096 -rss_limit_mb=2048
                   -artifact_prefix=${CMAKE_CURRENT_BINARY_DIR}/rtio_fuzz_
                   ${CMAKE_CURRENT_BINARY_DIR}/rtio_fuzz_corpus ${RTIO_TESTS}/corpus)
  set_tests_properties(rtio_fuzz PROPERTIES LABELS fuzz TIMEOUT 120)
endif()
