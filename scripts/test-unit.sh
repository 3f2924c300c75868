#!/usr/bin/env bash
# The fast lane: tests that need no Debian tools, no fixture images and no spawned binary
# (protocol, store and queue contracts, the worker, the spool intake and the API in process, utilities).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
npm run build --silent
# test/api and test/client: in-process only (the *-e2e tests spawn `guestkit serve`)
# (PostgreSQL and Redis adapters start their own servers: they run in `npm test`, not here)
files=$(find dist/test/protocol dist/test/util dist/test/store dist/test/queue dist/test/jobs dist/test/placement -name '*.test.js' ! -name 'postgres*' ! -name 'bullmq*' ! -name 'cluster-*'; \
  find dist/test/api dist/test/client dist/test/observability -name '*.test.js' ! -name '*-e2e.test.js' 2>/dev/null; \
  ls dist/test/intake/spool-intake.test.js dist/test/worker/job-worker.test.js dist/test/worker/units.test.js dist/test/worker/usage.test.js \
     dist/test/fs/mode.test.js dist/test/fs/ntfs-lznt1.test.js)
exec node --test --test-concurrency=2 $(printf '%s\n' $files | sort)
