#!/usr/bin/env node
import('../dist/src/cli/launch.js').then((m) => m.launch(process.argv)).catch((err) => {
  process.stderr.write(`guestkit: EXECUTION_ERROR: ${err && err.message ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
