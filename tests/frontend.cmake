# tests/frontend.cmake: the model language's tests (sources in tests/frontend/).
set(FE_TEST_DIR ${CMAKE_CURRENT_LIST_DIR}/frontend)
set(FE_MODELS_DIR ${CMAKE_CURRENT_LIST_DIR}/../models)

add_executable(fe_check ${FE_TEST_DIR}/fe_check_main.c)
target_link_libraries(fe_check PRIVATE ssdc_frontend ssdc_ir)

add_executable(fe_bad ${FE_TEST_DIR}/fe_bad_main.c)
target_link_libraries(fe_bad PRIVATE ssdc_frontend ssdc_ir)
add_test(NAME frontend_bad_corpus
         COMMAND fe_bad ${FE_TEST_DIR}/bad ${CMAKE_CURRENT_BINARY_DIR}/fe_bad_tmp)
set_tests_properties(frontend_bad_corpus PROPERTIES LABELS cpu TIMEOUT 120)

# Every shipped model must parse, check and lower (frontend alone) ...
file(GLOB FE_MODEL_FILES CONFIGURE_DEPENDS ${FE_MODELS_DIR}/*.ssd)
add_test(NAME frontend_models COMMAND fe_check ${FE_MODEL_FILES})
set_tests_properties(frontend_models PROPERTIES LABELS cpu TIMEOUT 60)
# ... and pass the whole `ssdc check` (passes and verifier included).
if(TARGET ssdc)
  add_test(NAME frontend_models_ssdc_check COMMAND ssdc check ${FE_MODEL_FILES})
  set_tests_properties(frontend_models_ssdc_check PROPERTIES LABELS cpu TIMEOUT 60)
endif()

add_executable(fe_lower_test ${FE_TEST_DIR}/fe_lower_test.c)
target_link_libraries(fe_lower_test PRIVATE ssdc_frontend ssdc_ir m)
add_test(NAME frontend_lowering COMMAND fe_lower_test ${FE_MODELS_DIR})
set_tests_properties(frontend_lowering PROPERTIES LABELS cpu TIMEOUT 60)

# libFuzzer over parse + check + lower (clang, -DSSDC_FUZZ=ON).  New inputs
# go to the build tree; the seeds (fuzz_seed/, models/) are only read.
if(SSDC_FUZZ)
  add_executable(fe_fuzz ${FE_TEST_DIR}/fe_fuzz.c)
  target_compile_options(fe_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fe_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fe_fuzz PRIVATE ssdc_frontend ssdc_ir)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fe_fuzz_corpus)
  add_test(NAME frontend_fuzz
           COMMAND fe_fuzz -max_total_time=60 -rss_limit_mb=2048 -timeout=10 -max_len=8192
                   -dict=${FE_TEST_DIR}/fe.dict ${CMAKE_CURRENT_BINARY_DIR}/fe_fuzz_corpus
                   ${FE_TEST_DIR}/fuzz_seed ${FE_MODELS_DIR})
  set_tests_properties(frontend_fuzz PROPERTIES LABELS fuzz TIMEOUT 240)
endif()
