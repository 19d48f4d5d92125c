#!/usr/bin/env bash
# clang-tidy (.clang-tidy, warnings are errors) over the C++ files changed since a base ref, or over
# all of them. The compile commands come from a clang configuration of its own (BUILD_DIR, default
# build-tidy) that is configured, not built: only the generated gRPC headers are made.
#
# Usage: bash infra/dev/tidy.sh [--base REF] [--whole-files] [--all] [--list] [--jobs N]
#                               [--build-dir DIR] [FILE...]
#   --base REF  lint the .cc files changed between the merge base of REF and HEAD, and the working
#               tree (default REF: origin/main if it exists, else main), and report what clang-tidy
#               finds on the changed lines only, so code a change did not touch never fails it. When
#               that diff is empty (HEAD is the base, as in CI on main), HEAD's own commit is the
#               change. A changed header brings in the .cc file of the same name in its module.
#   --whole-files  report findings anywhere in the changed files, not only on the changed lines
#   --all       lint every .cc file the build knows (about 20 s of CPU per file: slow)
#   --list      print the files that would be linted, and stop
#   FILE...     lint exactly these files
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

base=
all=false
list=false
whole_files=false
jobs=$(nproc)
build_dir=build-tidy
files=()
while (($#)); do
  case $1 in
    --base) base=$2; shift 2 ;;
    --all) all=true; shift ;;
    --list) list=true; shift ;;
    --whole-files) whole_files=true; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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
    # diff_args name the change: the merge base against the working tree, or HEAD's own commit.
    diff_args=("$(git merge-base "$base" HEAD)")
    mapfile -t changed < <({
      git diff --name-only --diff-filter=d "${diff_args[@]}" -- '*.cc' '*.h'
      git ls-files --others --exclude-standard -- '*.cc' '*.h'
    } | sort -u)
    if ((${#changed[@]} == 0)) && git rev-parse -q --verify HEAD~1 >/dev/null; then
      echo "tidy.sh: nothing changed since $base; linting the change of HEAD's commit" >&2
      diff_args=(HEAD~1 HEAD)
      mapfile -t changed < <(git diff --name-only --diff-filter=d "${diff_args[@]}" -- '*.cc' '*.h')
    fi
    if ! $whole_files; then
      # clang-tidy's -line-filter: findings only on the changed lines of the changed files (new
      # files whole). Files not named in it report nothing.
      line_filter=$({
        git diff -U0 --no-color --diff-filter=d "${diff_args[@]}" -- '*.cc' '*.h'
        git ls-files --others --exclude-standard -- '*.cc' '*.h' | sed 's/^/+++ b\//; s/$/\nNEW/'
      } | python3 -c '
import json, re, sys
ranges = {}
name = None
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("+++ b/"):
        name = line[6:]
        ranges.setdefault(name, [])
    elif line == "NEW" and name:
        ranges[name].append([1, 10**9])
    else:
        m = re.match(r"@@ -\S+ \+(\d+)(?:,(\d+))? @@", line)
        if m and name:
            start, count = int(m.group(1)), int(m.group(2) or 1)
            if count > 0:
                ranges[name].append([start, start + count - 1])
print(json.dumps([{"name": n, "lines": r} for n, r in ranges.items() if r]))
')
      export line_filter
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
  filter=()
  [[ -n ${line_filter:-} ]] && filter=("-line-filter=$line_filter")
  if ! clang-tidy -p "$database" --quiet "${filter[@]}" "$1" >"$log" 2>&1; then
    { echo "tidy.sh: findings in $1:"; grep -v "warnings generated\|^Suppressed\|NOLINT\|-header-filter\|-system-headers" "$log"; } >&2
    exit 1
  fi' _ {}; then
  echo "tidy.sh: clang-tidy found problems (see above; .clang-tidy lists the checks)" >&2
  exit 1
fi
echo "tidy.sh: ${#targets[@]} file(s) clean" >&2
