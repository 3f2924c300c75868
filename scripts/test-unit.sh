#!/usr/bin/env bash
# The fast lane: tests that need no Debian tools, no fixture images and no spawned binary
# (protocol, store and queue contracts, the worker and the spool intake in process, utilities).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
npm run build --silent
files=$(find dist/test/protocol dist/test/util dist/test/store dist/test/queue dist/test/jobs -name '*.test.js'; \
  ls dist/test/intake/spool-intake.test.js dist/test/worker/job-worker.test.js dist/test/worker/units.test.js \
     dist/test/fs/mode.test.js dist/test/fs/ntfs-lznt1.test.js)
exec node --test --test-concurrency=2 $(printf '%s\n' $files | sort)
