#!/usr/bin/env bash
# Builds and runs the tests under the sanitizers, each build in its own directory (GCC, -O1):
#
#   scripts/sanitize.sh          both runs below
#   scripts/sanitize.sh asan     AddressSanitizer + UndefinedBehaviorSanitizer (with LeakSanitizer) in build-asan:
#                                unit and integration tests (the integration tests start their own PostgreSQL,
#                                Redis and Kafka under build-asan/test-infra)
#   scripts/sanitize.sh tsan     ThreadSanitizer in build-tsan: the unit tests, and the PostgreSQL and Redis
#                                integration tests (under build-tsan/test-infra)
#
# The unit tests cover our own threads (the services against fakes, the workers of AnalyticsService and
# ProcessorService, ReadinessProbe). Left out of ThreadSanitizer: the Kafka integration tests, because librdkafka
# starts its threads with C11 thrd_create, which the TSan runtimes of GCC 12 and clang 14 do not intercept (TSan
# crashes in its allocator on the first malloc of such a thread); the in-process gRPC adapter tests, because
# Debian's gRPC is not built with TSan, so its own synchronisation is invisible to it and it reports races inside
# gRPC (its poller's epoll descriptor, Abseil's lock-order graph) that no code of ours takes part in; and the e2e
# and fault tests, which run the clickstream executable with librdkafka and gRPC. fuzz/README.md says more. Extra arguments after `--` go to ctest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs=()
while (($# > 0)); do
  case $1 in
    asan | tsan) runs+=("$1") ;;
    --) shift; break ;;
    *) sed -n '2,16s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
  esac
  shift
done
((${#runs[@]} > 0)) || runs=(asan tsan)

log() { printf 'sanitize: %s\n' "$*"; }
jobs=${CLICKSTREAM_BUILD_JOBS:-2}

# configure DIR SANITIZERS: a separate tree with every target instrumented (CLICKSTREAM_SANITIZE in CMakeLists.txt).
configure() {
  [[ -f $1/build.ninja ]] && return 0
  cmake -S . -B "$1" -G Ninja -DCMAKE_CXX_COMPILER="${CLICKSTREAM_SANITIZE_CXX:-g++}" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DCLICKSTREAM_SANITIZE="$2" >/dev/null
}

for run in "${runs[@]}"; do
  case $run in
    asan)
      log "AddressSanitizer + UndefinedBehaviorSanitizer: unit and integration tests in build-asan"
      configure build-asan address,undefined
      cmake --build build-asan --target unit_tests integration_tests -- -j"$jobs"
      # A report fails the test: ASan and UBSan (-fno-sanitize-recover) abort, LeakSanitizer exits non-zero.
      ASAN_OPTIONS=${ASAN_OPTIONS:-detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:strict_init_order=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        ctest --test-dir build-asan -L 'unit|integration' --output-on-failure "$@"
      ;;
    tsan)
      log "ThreadSanitizer: unit tests and the PostgreSQL and Redis integration tests in build-tsan"
      configure build-tsan thread
      cmake --build build-tsan --target unit_tests integration_tests -- -j"$jobs"
      # halt_on_error: the first race fails its test with the report in ctest's output. The Kafka and gRPC
      # adapter tests are excluded by name (see above).
      # scripts/tsan.supp names races inside third-party code, each with its reason.
      TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp} \
        ctest --test-dir build-tsan -L 'unit|integration' -E '^(Kafka|GrpcAdapterTest)' --output-on-failure "$@"
      ;;
  esac
done
