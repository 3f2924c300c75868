/**
 * Writes a target's seed corpus (made from the real fixtures) into a folder:
 * node dist/fuzz/seeds.js NAME DIR. Used by scripts/fuzz.mjs.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTarget } from './lib/target.js';

const [name, dir] = process.argv.slice(2);
if (!name || !dir) throw new Error('usage: seeds.js TARGET DIR');
const seeds = await (await loadTarget(name)).seeds();
mkdirSync(dir, { recursive: true });
for (const s of seeds) writeFileSync(join(dir, createHash('sha1').update(s).digest('hex')), s);
process.stdout.write(`${seeds.length} seeds, ${seeds.reduce((n, s) => n + s.length, 0)} bytes, largest ${Math.max(0, ...seeds.map((s) => s.length))}\n`);
