import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

// Processes started together on one data dir open the same new files at once. Two
// connections converting a new file to WAL deadlock, and SQLite answers that with an
// immediate SQLITE_BUSY (no busy handler) that the open must wait out. Threads of one
// process do not show it (SQLite shares their locks), so each opener is a process; each
// one opens a fresh file per round at the round's agreed instant.
const fromSources = import.meta.url.endsWith('.ts');
const ext = fromSources ? 'ts' : 'js';

const OPENER = `
const [module, kind, dir, rounds, start, step] = process.argv.slice(1);
const m = await import(module);
const errors = [];
for (let r = 0; r < Number(rounds); r++) {
  const at = Number(start) + r * Number(step);
  while (Date.now() < at) {}
  const file = dir + '/' + kind + '-' + r + '.db';
  try {
    if (kind === 'jobs') m.openDatabase(file, 5000).close();
    else m.ControlDb.open(file).db.close();
  } catch (err) {
    errors.push('round ' + r + ': ' + err.code + ': ' + err.message);
  }
}
process.stdout.write(JSON.stringify(errors));
`;

function opener(module: string, kind: string, dir: string, rounds: number, start: number, stepMs: number): Promise<string[]> {
  const args = [...(fromSources ? ['--import', 'tsx'] : []), '--input-type=module', '-e', OPENER, module, kind, dir, String(rounds), String(start), String(stepMs)];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c));
    p.stderr.on('data', (c: Buffer) => (err += c));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`opener exited ${code}: ${err}`))));
  });
}

async function race(kind: 'jobs' | 'control', rounds: number, processes: number): Promise<string[]> {
  const module = new URL(`../../src/store/sqlite/${kind === 'jobs' ? 'connection' : 'control-db'}.${ext}`, import.meta.url).href;
  const dir = mkdtempSync(join(tmpdir(), 'gk-open-race-'));
  try {
    // the first round starts once every process has surely loaded (tsx start-up included)
    const start = Date.now() + (fromSources ? 4000 : 1500);
    const all = await Promise.all(Array.from({ length: processes }, () => opener(module, kind, dir, rounds, start, 60)));
    return all.flat();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('workers opening one new job store at the same instant all open it (WAL conversion race)', async () => {
  assert.deepEqual(await race('jobs', 60, 3), []);
});

test('servers opening one new control database at the same instant all open it', async () => {
  assert.deepEqual(await race('control', 40, 3), []);
});
