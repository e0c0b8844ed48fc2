# Compile options as INTERFACE targets, linked PRIVATE by every simsearch target.

add_library(simsearch_warnings INTERFACE)
add_library(simsearch::warnings ALIAS simsearch_warnings)
target_compile_options(simsearch_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wno-unused-parameter)

add_library(simsearch_arch INTERFACE)
add_library(simsearch::arch ALIAS simsearch_arch)
if(SIMSEARCH_MARCH)
  target_compile_options(simsearch_arch INTERFACE -march=${SIMSEARCH_MARCH})
  # GCC 12 reports false "(may be) used uninitialized" warnings inside its AVX-512
  # intrinsics headers when Eigen uses them.
  target_compile_options(simsearch_arch INTERFACE $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized> -Wno-uninitialized)
endif()
# Eigen must never start its own threads inside a request: the engine's parallelism is
# one request per gRPC thread (docs/ARCHITECTURE.md).
target_compile_definitions(simsearch_arch INTERFACE EIGEN_DONT_PARALLELIZE)

# Helper: a gtest executable whose tests are discovered with a label.
function(simsearch_test name label)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE GTest::gtest_main GTest::gmock simsearch::warnings)
  if(SIMSEARCH_TSAN)
    # Hidden: only our code's lock calls resolve to the annotated copies (see the file).
    target_sources(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/testing/tsan_absl.cc)
    set_source_files_properties(${PROJECT_SOURCE_DIR}/tests/testing/tsan_absl.cc
      PROPERTIES COMPILE_OPTIONS -fvisibility=hidden)
    target_link_libraries(${name} PRIVATE absl::synchronization ${CMAKE_DL_LIBS})
  endif()
  gtest_discover_tests(${name}
    PROPERTIES LABELS ${label}
    DISCOVERY_TIMEOUT 60)
endfunction()
