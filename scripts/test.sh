#!/usr/bin/env bash
# Sets up everything the tests need (scripts/setup.sh), builds, and runs every test through CTest: unit tests,
# integration tests against real PostgreSQL, Redis and Kafka, and end-to-end tests of the clickstream executable.
# The integration and e2e tests start their own infrastructure on free ports (CTest fixture "infra"), so they
# never collide with a stack started by scripts/up.sh. Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${CLICKSTREAM_BUILD_DIR:-build}

scripts/setup.sh
if [[ ! -f $build_dir/build.ninja ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build_dir"
ctest --test-dir "$build_dir" --output-on-failure "$@"
