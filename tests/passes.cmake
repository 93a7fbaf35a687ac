# tests/passes.cmake: the IR and the pass pipeline.
#  - passes_unit: IR built by hand through ir.h (no frontend): every fusion
#    pattern and its negative case, shape and head-divisibility errors,
#    elaboration, canonicalization, algorithm selection, cost-model files,
#    the memory plan, printers, and 1000 random graphs that must verify or
#    be rejected cleanly.
#  - passes_golden_ir: `ssdc dump` of every models/*.ssd diffed against
#    tests/golden_ir/ (regenerate: tools/update_golden_ir.sh, then review
#    `git diff tests/golden_ir`).
#  - passes_cli: `ssdc check` / `ssdc dump` on good and bad input.
# ssdc_pass_tool is the same check/dump entry points without the runtime
# and codegen linked in; the update script uses it.
add_executable(test_passes_unit ${CMAKE_CURRENT_LIST_DIR}/passes/test_passes_unit.c)
target_link_libraries(test_passes_unit PRIVATE ssdc_passes ssdc_frontend ssdc_ir m)
add_test(NAME passes_unit COMMAND test_passes_unit)

add_executable(ssdc_pass_tool ${CMAKE_CURRENT_LIST_DIR}/passes/pass_tool.c)
target_link_libraries(ssdc_pass_tool PRIVATE ssdc_passes ssdc_frontend ssdc_ir m)

add_test(NAME passes_golden_ir
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/passes/golden_ir.sh $<TARGET_FILE:ssdc>
                 ${CMAKE_SOURCE_DIR} check)
add_test(NAME passes_cli
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/passes/cli_errors.sh $<TARGET_FILE:ssdc>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(passes_unit passes_golden_ir passes_cli PROPERTIES LABELS cpu)
