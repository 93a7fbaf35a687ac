# tests/exec.cmake: the CPU kernels, the executor, the state cache, the
# run/generate/demo/bench commands and the golden end-to-end cases.
# test_exec_ops compiles the kernels directly so it does not depend on the
# rest of ssdc_runtime; the others link the whole stack.
set(EXEC_TESTS ${CMAKE_CURRENT_LIST_DIR}/exec)
set(EXEC_RT ${CMAKE_CURRENT_LIST_DIR}/../runtime)
set(EXEC_MODELS ${CMAKE_CURRENT_LIST_DIR}/../models)

add_executable(test_exec_ops ${EXEC_TESTS}/test_ops.c ${EXEC_RT}/rt_ops.c ${EXEC_RT}/rt_pool.c)
# compiled as in runtime/CMakeLists.txt (FMA contraction in the matmul)
set_source_files_properties(${EXEC_RT}/rt_ops.c PROPERTIES COMPILE_OPTIONS -ffp-contract=fast)
target_include_directories(test_exec_ops PRIVATE ${EXEC_RT})
target_link_libraries(test_exec_ops PRIVATE ssdc_ir Threads::Threads m)
add_test(NAME exec_ops COMMAND test_exec_ops)
# the same with the matmul block kernel capped to AVX2 and to portable C
add_test(NAME exec_ops_gemm_avx2 COMMAND test_exec_ops)
add_test(NAME exec_ops_gemm_generic COMMAND test_exec_ops)
set_tests_properties(exec_ops_gemm_avx2 PROPERTIES ENVIRONMENT SSDC_GEMM=avx2)
set_tests_properties(exec_ops_gemm_generic PROPERTIES ENVIRONMENT SSDC_GEMM=generic)
set_tests_properties(exec_ops exec_ops_gemm_avx2 exec_ops_gemm_generic PROPERTIES LABELS cpu)

add_executable(test_exec_state ${EXEC_TESTS}/test_state.c)
target_link_libraries(test_exec_state PRIVATE ssdc_runtime ssdc_codegen ssdc_passes
                      ssdc_frontend ssdc_ir Threads::Threads m ${CMAKE_DL_LIBS})

# The executor on a hand-built graph of the ops no shipped model uses.
add_executable(test_exec_graph ${EXEC_TESTS}/test_graph.c)
target_link_libraries(test_exec_graph PRIVATE ssdc_runtime ssdc_codegen ssdc_passes
                      ssdc_frontend ssdc_ir Threads::Threads m ${CMAKE_DL_LIBS})
add_test(NAME exec_graph COMMAND test_exec_graph)
set_tests_properties(exec_graph PROPERTIES LABELS cpu)

# One state/consistency run per shipped model file, shrunk to test size.
# Every model file gets the same treatment; sizes are set by the names its
# hyperparameters use.
function(exec_state_test name file)
  if(EXISTS ${EXEC_MODELS}/${file})
    add_test(NAME exec_state_${name} COMMAND test_exec_state ${EXEC_MODELS}/${file} ${ARGN})
    set_tests_properties(exec_state_${name} PROPERTIES LABELS cpu TIMEOUT 120)
  endif()
endfunction()
exec_state_test(mamba2 mamba2.ssd d_model=64 n_layer=2 vocab_raw=97 d_state=16 headdim=16
                chunk=8)
exec_state_test(mamba2_groups mamba2.ssd d_model=64 n_layer=2 vocab_raw=97 d_state=16
                headdim=16 ngroups=2 d_conv=3 conv_bias=false proj_bias=true tie=false
                dt_max=0.05)
exec_state_test(mamba1 mamba1.ssd d_model=48 n_layer=2 vocab_raw=97 d_state=8)
exec_state_test(hybrid hybrid.ssd d_model=64 n_layer=4 vocab=97 attn_layers=[1,3] n_heads=4
                n_kv=2 d_ff=128 mamba_heads=8 d_state=16 chunk=8)
foreach(pat gva mhs mka mqa mva) # the head-pattern models share their parameter names
  exec_state_test(${pat} ${pat}.ssd d_model=64 n_layer=2 vocab=97 nheads=4 headdim=16
                  d_state=16 chunk=8)
endforeach()

# Generated C vs the interpreter, and the cache of compiled kernels.
add_executable(test_exec_codegen ${EXEC_TESTS}/test_codegen.c)
target_link_libraries(test_exec_codegen PRIVATE ssdc_runtime ssdc_codegen ssdc_passes
                      ssdc_frontend ssdc_ir Threads::Threads m ${CMAKE_DL_LIBS})
add_test(NAME exec_codegen_mamba2 COMMAND test_exec_codegen ${EXEC_MODELS}/mamba2.ssd
         ${CMAKE_CURRENT_BINARY_DIR}/codegen-mamba2 d_model=64 n_layer=2 vocab_raw=97
         d_state=16 headdim=16 ngroups=2 dt_min=0.01 dt_max=0.1 chunk=8)
add_test(NAME exec_codegen_mamba1 COMMAND test_exec_codegen ${EXEC_MODELS}/mamba1.ssd
         ${CMAKE_CURRENT_BINARY_DIR}/codegen-mamba1 d_model=48 n_layer=2 vocab_raw=97 d_state=8)
# a state size that is no multiple of the vector lanes: the scalar path
add_test(NAME exec_codegen_mamba2_n12 COMMAND test_exec_codegen ${EXEC_MODELS}/mamba2.ssd
         ${CMAKE_CURRENT_BINARY_DIR}/codegen-mamba2-n12 d_model=64 n_layer=2 vocab_raw=97
         d_state=12 headdim=16 d_conv=2)
set_tests_properties(exec_codegen_mamba2 exec_codegen_mamba1 exec_codegen_mamba2_n12
                     PROPERTIES LABELS cpu TIMEOUT 120)

# The commands: help, smoke runs of demo and bench, and clean failures.
foreach(cmd run generate demo bench compile)
  add_test(NAME exec_cli_help_${cmd} COMMAND ssdc ${cmd} --help)
  set_tests_properties(exec_cli_help_${cmd} PROPERTIES LABELS cpu)
endforeach()
add_test(NAME exec_cli_demo_small COMMAND ssdc demo --set n_layer=2 --set d_model=128
         --prompt-len 16 --max-new-tokens 4)
set_tests_properties(exec_cli_demo_small PROPERTIES LABELS cpu
                     PASS_REGULAR_EXPRESSION "decode: [0-9.]+ tokens/s")
# bench writes JSON that parses and holds a positive rate for each length
set(EXEC_BENCH_JSON ${CMAKE_CURRENT_BINARY_DIR}/bench-small.json)
add_test(NAME exec_cli_bench_small
         COMMAND sh -c [=[rm -f "$2" && "$1" bench --set n_layer=1 --set d_model=64 --set headdim=16 --set d_state=16 --decode-tokens 2 --out "$2" && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); r=d['results']; assert [x['L'] for x in r]==[1,128,2048] and all(x['prefill_tok_s']>0 and x['decode_tok_s_after_prefill']>0 for x in r), r" "$2"]=]
                 sh $<TARGET_FILE:ssdc> ${EXEC_BENCH_JSON})
set_tests_properties(exec_cli_bench_small PROPERTIES LABELS cpu)
# Each of these must fail cleanly.
set(EXEC_BAD_CASES
    "run_missing_model|run --model /nonexistent/dir --input x --output y"
    "run_no_args|run"
    "run_bad_device|run --model m --input i --output o --device tpu"
    "generate_negative_id|generate --model m --prompt-ids 1,-2"
    "generate_empty_ids|generate --model m --prompt-ids ,"
    "generate_trailing_comma|generate --model m --prompt-ids 1,2,"
    "generate_cuda|generate --model m --prompt-ids 1 --device cuda"
    "run_bf16_cpu|run --model m --input i --output o --device cpu --dtype bf16"
    "generate_bad_dtype|generate --model m --prompt-ids 1 --dtype f16"
    "bench_bf16_cpu|bench --device cpu --dtype bf16"
    "demo_bad_flag|demo --frobnicate 1"
    "demo_bad_set|demo --set no_such_param=3"
    "demo_bad_len|demo --prompt-len 0"
    "run_kernels_cpu|run --model m --input i --output o --device cpu --kernels p|kernel pack for the GPU"
    "generate_kernels_cpu|generate --model m --prompt-ids 1 --device cpu --kernels p|kernel pack for the GPU"
    "bench_kernels_cpu|bench --device cpu --kernels p|kernel pack for the GPU"
    "run_stray_argument|run stray --model m --input i --output o|unexpected argument 'stray'")
foreach(case ${EXEC_BAD_CASES})
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 cname)
  list(GET parts 1 cargs)
  separate_arguments(cargs UNIX_COMMAND "${cargs}")
  # exit 1 or 2 (not a crash) with an "ssdc: error:" line (holding the
  # case's third field, when it has one)
  list(LENGTH parts nparts)
  set(cwant "")
  if(nparts GREATER 2)
    list(GET parts 2 cwant)
  endif()
  add_test(NAME exec_cli_bad_${cname}
           COMMAND sh -c [=[want=$1; shift; out=$("$@" 2>&1); rc=$?; echo "$out"; case $rc in 1|2) echo "$out" | grep "ssdc: error:" | grep -qF -- "$want";; *) exit 1;; esac]=]
                   sh "${cwant}" $<TARGET_FILE:ssdc> ${cargs})
  set_tests_properties(exec_cli_bad_${cname} PROPERTIES LABELS cpu)
endforeach()

# Golden cases: every tests/golden/<case>/ with a config.json.
add_executable(test_exec_golden ${EXEC_TESTS}/test_golden.c)
target_link_libraries(test_exec_golden PRIVATE ssdc_runtime ssdc_codegen ssdc_passes
                      ssdc_frontend ssdc_ir Threads::Threads m ${CMAKE_DL_LIBS})
target_compile_definitions(test_exec_golden PRIVATE SSDC_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
file(GLOB EXEC_GOLDEN_CONFIGS CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_LIST_DIR}/golden/*/config.json)
foreach(cfg ${EXEC_GOLDEN_CONFIGS})
  get_filename_component(gdir ${cfg} DIRECTORY)
  get_filename_component(gname ${gdir} NAME)
  add_test(NAME exec_golden_${gname}
           COMMAND test_exec_golden $<TARGET_FILE:ssdc> ${gdir}
                   ${CMAKE_CURRENT_BINARY_DIR}/golden-${gname})
  set_tests_properties(exec_golden_${gname} PROPERTIES LABELS cpu TIMEOUT 300)
endforeach()

# Generated code lands in a cache inside the build tree, not in $HOME; every
# buffer the executor allocates starts as NaN, so unwritten outputs show up.
get_property(EXEC_ALL_TESTS DIRECTORY PROPERTY TESTS)
foreach(t ${EXEC_ALL_TESTS})
  if(t MATCHES "^exec_")
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
                 SSDC_CACHE_DIR=${CMAKE_CURRENT_BINARY_DIR}/ssdc-cache SSDC_POISON=1)
  endif()
endforeach()
