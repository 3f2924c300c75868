#!/usr/bin/env -S node --v8-pool-size=1 --single-threaded-gc
// The flags above (read by bench/ too): one V8 helper thread and GC on the JS threads themselves.
// A worker already runs one JS thread per core; parallel GC and compile helpers only competed
// with them (worker-inspect: ~15 % less CPU per job, cold inspect ~6 % faster).
import('../dist/src/cli/launch.js').then((m) => m.launch(process.argv)).catch((err) => {
  process.stderr.write(`guestkit: EXECUTION_ERROR: ${err && err.message ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
