// The npm package: `npm pack` ships only runtime files, and the tarball installed into an empty
// folder (and globally) gives a working `guestkit` that inspects a real guest disk.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { fixture, REPO } from '../helpers/fixtures.js';
import { installTarball, packRepo, tempDir, type Packed } from './packed.js';

const run = promisify(execFile);
const GUEST = () => fixture('inspect-layouts', 'rhel-xfs.qcow2');

describe('npm pack', () => {
  let work: string;
  let packed: Packed;
  let local: string;

  before(async () => {
    work = tempDir('gk-npm-pack-');
    packed = await packRepo(join(work, 'pack'));
    local = join(work, 'empty');
    await installTarball(packed.tarball, local);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('builds before packing (prepack) so the tarball holds the compiled JS', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
    assert.match(pkg.scripts.prepack ?? '', /npm run build/);
    assert.equal(pkg.bin.guestkit, 'bin/guestkit.js');
  });

  it('ships the runtime files and nothing else', () => {
    const paths = packed.files.map((f) => f.path);
    for (const need of ['package.json', 'README.md', 'bin/guestkit.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/cli/inspect.cjs', 'dist/web/index.html', 'schemas/job-v1.json']) {
      assert.ok(paths.includes(need), `the tarball lacks ${need}`);
    }
    assert.ok(paths.some((p) => p.startsWith('dist/web/assets/') && p.endsWith('.js')), 'the built dashboard assets');
    const stray = paths.filter(
      (p) =>
        !/^(package\.json|README\.md|bin\/guestkit\.js|schemas\/[^/]+\.json|dist\/src\/.+\.(js|d\.ts)|dist\/cli\/[^/]+\.cjs|dist\/web\/(index\.html|favicon\.svg|assets\/[^/]+\.(js|css|svg|woff2?)))$/.test(p),
    );
    assert.deepEqual(stray, [], 'files outside the runtime set (tests, fixtures, bench, web sources, maps, TypeScript sources)');
    assert.ok(!paths.some((p) => p.startsWith('dist/test/') || p.startsWith('dist/bench/') || p.startsWith('test/') || p.startsWith('web/src/') || p.endsWith('.map')));
  });

  // ~2.1 MB packed / 7.2 MB unpacked with the CLI bundles (dist/cli: inspect, profile, sbom,
  // files and vulns again as one file each, for the code cache); a stray fixture or test tree is far bigger.
  it('is small: under 3 MB packed, 10 MB unpacked', () => {
    assert.ok(packed.size < 3 * 1024 * 1024, `packed ${packed.size} bytes`);
    assert.ok(packed.unpackedSize < 10 * 1024 * 1024, `unpacked ${packed.unpackedSize} bytes`);
    assert.ok(packed.files.length < 2000, `${packed.files.length} files`);
  });

  it('installs into an empty folder with production dependencies only', () => {
    const modules = join(local, 'node_modules');
    assert.ok(existsSync(join(modules, 'guestkit', 'dist', 'src', 'cli', 'main.js')));
    assert.ok(existsSync(join(modules, '.bin', 'guestkit')), 'node_modules/.bin/guestkit (what npx runs)');
    for (const dev of ['typescript', 'tsx', 'esbuild', 'playwright-core', 'preact', 'kubernetes-models']) {
      assert.ok(!existsSync(join(modules, dev)), `dev dependency ${dev} installed`);
    }
    for (const dep of ['better-sqlite3', 'fastify', 'commander', 'zod']) assert.ok(existsSync(join(modules, dep)), `${dep} missing`);
  });

  it('the installed node_modules/.bin/guestkit inspects a qcow2 guest', async () => {
    const { stdout } = await run(join(local, 'node_modules', '.bin', 'guestkit'), ['inspect', '--json', GUEST()], { cwd: local, maxBuffer: 64 << 20 });
    const doc = JSON.parse(stdout) as { operating_systems: { distro: string; hostname: string; major_version: number }[] };
    assert.equal(doc.operating_systems.length, 1);
    assert.equal(doc.operating_systems[0]!.distro, 'rhel');
    assert.equal(doc.operating_systems[0]!.major_version, 8);
    assert.equal(doc.operating_systems[0]!.hostname, 'rhel8-db.example.com');
  });

  it('npx guestkit runs the installed bin from the folder', async () => {
    const { stdout } = await run('npx', ['--no-install', 'guestkit', 'filesystems', GUEST()], { cwd: local, maxBuffer: 16 << 20 });
    assert.match(stdout, /xfs/);
    assert.match(stdout, /\/dev\/rhel\/root/);
  });

  it('works as a library: import { inspect } from "guestkit"', async () => {
    const script = `import('guestkit').then(async (m) => { const r = await m.inspect({ disks: [${JSON.stringify(GUEST())}] }); console.log(r.operating_systems[0].product_name); })`;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: local });
    assert.match(stdout, /Red Hat Enterprise Linux 8\.9/);
  });

  it('a global install puts guestkit on PATH', async () => {
    const prefix = join(work, 'global');
    await installTarball(packed.tarball, prefix, { global: true });
    const bin = join(prefix, 'bin');
    assert.ok(existsSync(join(bin, 'guestkit')));
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    const { stdout } = await run('guestkit', ['inspect', GUEST()], { cwd: work, env, maxBuffer: 16 << 20 });
    assert.match(stdout, /Red Hat Enterprise Linux 8\.9/);
  });
});
