#!/usr/bin/env bash
# The house tools, as the test command runs them (CTest test `lint`): clang-format on every tracked C++ file
# (.clang-format) and clang-tidy on every .cc under src/ (.clang-tidy), against the compile commands of a build
# tree. Fails on the first file either tool finds fault with, and says which.
#
#   scripts/lint.sh [BUILD_DIR]      # default build/; `clang-format-14 -i <file>` fixes a format finding
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${1:-build}
[[ -f $build_dir/compile_commands.json ]] || { echo "lint: no $build_dir/compile_commands.json; build first" >&2; exit 2; }
for tool in clang-format-14 clang-tidy-14; do
  command -v "$tool" >/dev/null || { echo "lint: $tool is missing; run scripts/setup.sh" >&2; exit 2; }
done

mapfile -t cxx_files < <(git ls-files '*.cc' '*.h')
if ! clang-format-14 --dry-run --Werror "${cxx_files[@]}"; then
  echo "lint: clang-format: the files above differ from .clang-format; fix with clang-format-14 -i" >&2
  exit 1
fi
echo "lint: clang-format: ${#cxx_files[@]} files formatted"

mapfile -t sources < <(git ls-files 'src/*.cc')
# Two at a time: one a core. clang-tidy counts the warnings it suppressed in system headers on stderr; only its
# findings are shown.
set +e
printf '%s\0' "${sources[@]}" | xargs -0 -n 4 -P 2 clang-tidy-14 -p "$build_dir" --quiet 2>&1 |
  grep -v -E '^[0-9]+ warnings? generated\.$'
tidy_status=${PIPESTATUS[1]}
set -e
if ((tidy_status != 0)); then
  echo "lint: clang-tidy found the problems above (.clang-tidy)" >&2
  exit 1
fi
echo "lint: clang-tidy: ${#sources[@]} files clean"
