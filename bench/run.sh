#!/usr/bin/env bash
# Runs every benchmark (bench/*.ts) with tsx; pass a regex to run only matching files.
# bench/naive-spool.ts is not a benchmark (spool-throughput.ts runs it as its reference) and is skipped.
# Benchmarks write their scratch images under bench/out/ (gitignored) and print medians.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
for f in bench/*.ts; do
  [ -f "$f" ] || continue
  [ "$f" = bench/naive-spool.ts ] && continue
  if [ "$#" -gt 0 ] && ! [[ "$f" =~ $1 ]]; then continue; fi
  echo "== $f" >&2
  node --import tsx "$f"
done
