#!/usr/bin/env bash
# Sets up everything the tests need (scripts/setup.sh), builds, and runs every test through CTest: unit tests,
# integration tests against real PostgreSQL, Redis and Kafka, and end-to-end tests of the clickstream executable.
# The integration and e2e tests start their own infrastructure on free ports (CTest fixture "infra"), so they
# never collide with a stack started by scripts/up.sh. Extra arguments go to ctest (e.g. -L unit).
#
# Then, each in its own build tree: the unit and integration tests under AddressSanitizer + UndefinedBehavior-
# Sanitizer (build-asan), the unit and PostgreSQL/Redis integration tests under ThreadSanitizer (build-tsan), and
# 25 s of every fuzz target (build-fuzz); see fuzz/README.md. They add about 8 minutes on two cores from scratch.
# Locally, CLICKSTREAM_QUICK_TESTS=1 skips them, and so does choosing tests with ctest arguments; CI always runs
# them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${CLICKSTREAM_BUILD_DIR:-build}

scripts/setup.sh
if [[ ! -f $build_dir/build.ninja ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build_dir"
ctest --test-dir "$build_dir" --output-on-failure "$@"

if [[ ${CI:-} == true || (${CLICKSTREAM_QUICK_TESTS:-0} != 1 && $# -eq 0) ]]; then
  scripts/sanitize.sh
  scripts/fuzz.sh
else
  echo "test: sanitizer and fuzz runs skipped (CLICKSTREAM_QUICK_TESTS=1 or ctest arguments given)"
fi
