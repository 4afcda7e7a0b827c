#!/usr/bin/env bash
# The benchmark: sets up (scripts/setup.sh), builds the services and the load generator (optimised, in build/),
# then runs bench/run.py, which starts its own stack under .state/bench, measures the machine's ceilings and
# workloads W1-W5, and writes bench/results/latest.{json,md}. Not part of the test command.
#
#   bench/run.sh [--quick] [--keep]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
case ${1:-} in -h | --help) exec python3 bench/run.py --help ;; esac

scripts/setup.sh >&2
[[ -f build/build.ninja ]] || cmake -S . -B build -G Ninja >&2
cmake --build build --target clickstream clickstream-loadgen >&2
exec python3 bench/run.py "$@"
