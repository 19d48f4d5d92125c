#!/usr/bin/env bash
# clang-tidy (.clang-tidy, warnings are errors) over the C++ files changed since a base ref, or over
# all of them. The compile commands come from a clang configuration of its own (BUILD_DIR, default
# build-tidy) that is configured, not built: only the generated gRPC headers are made.
#
# Usage: bash infra/dev/tidy.sh [--base REF] [--all] [--list] [--jobs N] [--build-dir DIR] [FILE...]
#   --base REF  lint the .cc files changed between the merge base of REF and HEAD, and the working
#               tree (default REF: origin/main if it exists, else main). When that diff is empty
#               (HEAD is the base, as in CI on main), the files of HEAD's own commit are linted.
#               A changed header brings in the .cc file of the same name in its module.
#   --all       lint every .cc file the build knows (about 20 s of CPU per file: slow)
#   --list      print the files that would be linted, and stop
#   FILE...     lint exactly these files
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

base=
all=false
list=false
jobs=$(nproc)
build_dir=build-tidy
files=()
while (($#)); do
  case $1 in
    --base) base=$2; shift 2 ;;
    --all) all=true; shift ;;
    --list) list=true; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "tidy.sh: unknown option $1" >&2; exit 2 ;;
    *) files+=("$1"); shift ;;
  esac
done

CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSIGNER_BENCH=OFF \
  >/dev/null
# Sources that include the generated API headers need them to exist.
mapfile -t generated < <(ninja -C "$build_dir" -t targets all | sed -n 's/^\(.*proto_gen\/[^/:]*\.h\): .*/\1/p' |
  grep -v '^/' | sort -u)
if ((${#generated[@]} > 0)); then
  ninja -C "$build_dir" "${generated[@]}" >/dev/null
fi
database=$build_dir/compile_commands.json

if ((${#files[@]} == 0)); then
  if $all; then
    mapfile -t files < <(git ls-files '*.cc')
  else
    if [[ -z $base ]]; then
      if git rev-parse -q --verify origin/main >/dev/null; then
        base=origin/main
      elif git rev-parse -q --verify main >/dev/null; then
        base=main
      else
        base=HEAD
      fi
    fi
    merge_base=$(git merge-base "$base" HEAD)
    mapfile -t changed < <({
      git diff --name-only --diff-filter=d "$merge_base" -- '*.cc' '*.h'
      git ls-files --others --exclude-standard -- '*.cc' '*.h'
    } | sort -u)
    if ((${#changed[@]} == 0)) && git rev-parse -q --verify HEAD~1 >/dev/null; then
      echo "tidy.sh: nothing changed since $base; linting the files of HEAD's commit" >&2
      mapfile -t changed < <(git diff --name-only --diff-filter=d HEAD~1 HEAD -- '*.cc' '*.h')
    fi
    for path in "${changed[@]}"; do
      case $path in
        *.cc) files+=("$path") ;;
        */include/*/*.h)
          # keymgr/include/keymgr/foo.h -> keymgr/src/foo.cc
          module=${path%%/include/*}
          stem=$(basename "$path" .h)
          [[ -f $module/src/$stem.cc ]] && files+=("$module/src/$stem.cc")
          ;;
        *.h)
          [[ -f ${path%.h}.cc ]] && files+=("${path%.h}.cc")
          ;;
      esac
    done
  fi
fi

# Only files the compile database knows can be linted with the right flags (the fuzz targets are
# in the fuzz build only; the fuzz build itself compiles them with clang and -Werror).
mapfile -t known < <(python3 -c '
import json, os, sys
for entry in json.load(open(sys.argv[1])):
    print(os.path.relpath(os.path.join(entry["directory"], entry["file"]), sys.argv[2]))
' "$database" "$repo" | sort -u)
declare -A in_database=()
for path in "${known[@]}"; do
  in_database[$path]=1
done
targets=()
for path in "${files[@]}"; do
  if [[ -n ${in_database[$path]:-} ]]; then
    targets+=("$path")
  elif [[ -f $path ]]; then
    echo "tidy.sh: skipping $path (not in $database)" >&2
  fi
done
mapfile -t targets < <(printf '%s\n' "${targets[@]}" | sed '/^$/d' | sort -u)
if ((${#targets[@]} == 0)); then
  echo "tidy.sh: no C++ files to lint" >&2
  exit 0
fi

if $list; then
  printf '%s\n' "${targets[@]}"
  exit 0
fi
echo "tidy.sh: linting ${#targets[@]} file(s) with $jobs job(s)" >&2
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
export database logs
# Each file's findings are printed whole, one file after another, with its name.
if ! printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c '
  log="$logs/$(printf %s "$1" | tr / _).log"
  if ! clang-tidy -p "$database" --quiet "$1" >"$log" 2>&1; then
    { echo "tidy.sh: findings in $1:"; grep -v "warnings generated\|^Suppressed\|NOLINT\|-header-filter\|-system-headers" "$log"; } >&2
    exit 1
  fi' _ {}; then
  echo "tidy.sh: clang-tidy found problems (see above; .clang-tidy lists the checks)" >&2
  exit 1
fi
echo "tidy.sh: ${#targets[@]} file(s) clean" >&2
