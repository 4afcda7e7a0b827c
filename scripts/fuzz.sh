#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with AddressSanitizer + UndefinedBehaviorSanitizer) in build-fuzz/
# and runs each for a bounded time, starting from the committed seeds (fuzz/corpus/<target>) and the saved
# reproducers of earlier findings (fuzz/findings/<target>), which therefore also act as regression tests.
#
#   scripts/fuzz.sh                      every target for 25 s (what scripts/test.sh and CI run)
#   scripts/fuzz.sh --long               every target for an hour
#   scripts/fuzz.sh --seconds 36000 gateway     one target for ten hours
#
# Targets: click_event event_batch batch query_string ingest gateway. What each one checks: fuzz/README.md.
# The corpus grown by earlier runs is kept in build-fuzz/corpus/<target> and reused, so long runs add up.
# A crash leaves its input in build-fuzz/findings/ and makes the script exit non-zero after all targets ran.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ALL_TARGETS=(click_event event_batch batch query_string ingest gateway)
build_dir=${CLICKSTREAM_FUZZ_BUILD_DIR:-build-fuzz}
seconds=${CLICKSTREAM_FUZZ_SECONDS:-25}
targets=()

usage() { sed -n '2,13s/^# \{0,1\}//p' "$0"; }
log() { printf 'fuzz: %s\n' "$*"; }

while (($# > 0)); do
  case $1 in
    --long) seconds=3600 ;;
    --seconds)
      [[ ${2:-} =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }
      seconds=$2
      shift
      ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; exit 2 ;;
    *)
      [[ " ${ALL_TARGETS[*]} " == *" $1 "* ]] || { log "unknown target '$1' (targets: ${ALL_TARGETS[*]})" >&2; exit 2; }
      targets+=("$1")
      ;;
  esac
  shift
done
((${#targets[@]} > 0)) || targets=("${ALL_TARGETS[@]}")

compiler=${CLICKSTREAM_FUZZ_CXX:-clang++-14}
command -v "$compiler" >/dev/null || { log "$compiler not found: run scripts/setup.sh" >&2; exit 1; }
if [[ ! -f $build_dir/build.ninja ]]; then
  # -O1 as OSS-Fuzz builds: fast enough to fuzz, quick to compile, and the sanitizers' reports stay readable.
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER="$compiler" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DCLICKSTREAM_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
fi
cmake --build "$build_dir" --target "${targets[@]/#/fuzz_}" -- -j"${CLICKSTREAM_BUILD_JOBS:-2}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
mkdir -p "$build_dir/findings" "$build_dir/logs"
failed=()
for target in "${targets[@]}"; do
  corpus="$build_dir/corpus/$target"
  mkdir -p "$corpus"
  inputs=("$corpus" "fuzz/corpus/$target")
  [[ -d fuzz/findings/$target ]] && inputs+=("fuzz/findings/$target")
  logfile="$build_dir/logs/$target.log"
  # New inputs go to the first directory only: the committed seeds and findings are never written.
  status=0
  "$build_dir/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -dict=fuzz/clickstream.dict -print_final_stats=1 -artifact_prefix="$build_dir/findings/$target-" \
    "${inputs[@]}" >"$logfile" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logfile")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logfile")
  log "$target: ${runs:-0} runs in ${seconds}s (${rate:-0}/s), corpus $(find "$corpus" -type f | wc -l) inputs"
  if ((status != 0)); then
    failed+=("$target")
    grep -E -A12 'ERROR:|runtime error|fuzz invariant' "$logfile" | head -40 >&2 || true
    artifact=$(sed -n "s/.*Test unit written to //p" "$logfile" | tail -n1)
    log "$target FAILED (exit $status); log: $logfile" >&2
    if [[ -n $artifact ]]; then log "reproduce: $build_dir/fuzz/fuzz_$target $artifact" >&2; fi
  fi
done

# The plain closing line CI reads: targets that ran clean, targets that found something.
printf 'fuzz: %d passed, %d failed\n' $((${#targets[@]} - ${#failed[@]})) ${#failed[@]}
((${#failed[@]} == 0)) || { log "failed: ${failed[*]}" >&2; exit 1; }
