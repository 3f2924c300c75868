import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, type CliResult } from '../helpers/cli.js';

/* `guestkit worker` option errors: reported before the daemon starts, one USAGE_ERROR line, exit 2. */

function assertUsage(r: CliResult, message: RegExp): void {
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^guestkit: USAGE_ERROR: /);
  assert.match(lines[0]!, message);
}

test('worker: a non-number option value names the flag as typed (--max-concurrent, not --maxConcurrent)', async () => {
  const cases: [string[], RegExp][] = [
    [['--max-concurrent', 'zero'], /^guestkit: USAGE_ERROR: --max-concurrent: expected a number, got "zero"$/],
    [['--metrics-port', 'http'], /^guestkit: USAGE_ERROR: --metrics-port: expected a number, got "http"$/],
    [['--drain-timeout', 'soon'], /^guestkit: USAGE_ERROR: --drain-timeout: expected a number, got "soon"$/],
    [['--memory-limit-mb', 'lots'], /^guestkit: USAGE_ERROR: --memory-limit-mb: expected a number, got "lots"$/],
  ];
  for (const [args, message] of cases) assertUsage(await runCli(['worker', ...args], undefined, { timeoutMs: 10_000 }), message);
});
