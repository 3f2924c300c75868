// The container image, without a container engine. No registry is reachable for the Node base
// image, so the Dockerfile cannot be built here as written; docker is a client without a daemon;
// Debian's podman runs containers only with runc and rlimits lowered by hand (--ulimit nofile=… and
// nproc=…: the sandbox denies raising them, and crun refuses its hybrid cgroups), which the suite does
// not install. So this test does two things and claims no more:
//   1. it lints the Dockerfile: multi-stage, the final stage copies only the installed package,
//      installs no tools, runs as a numeric non-root user, has a HEALTHCHECK and OCI labels;
//   2. it rebuilds the final stage's filesystem by hand: this machine's Node 20 binary and the
//      libraries it links (what node:20-bookworm-slim provides) at the base image's paths, the
//      tarball installed into /opt/guestkit with the build stage's npm options, the user and folders
//      the runtime stage makes. It then runs the image's ENTRYPOINT with the image's ENV inside that
//      tree (chroot in a private mount namespace), as uid/gid 65532, with the whole tree mounted
//      read-only and only /data writable, as `docker run --read-only -v data:/data` would: the CLI
//      inspects a fixture image, and `serve` passes the image's own HEALTHCHECK and runs a job.
// What it does not prove: that `docker build` succeeds (apt-get, npm ci in the build stage). That
// was done by hand once (buildah bud --isolation chroot on a locally made Node 20 base; about ten
// minutes, most of it compiling better-sqlite3 twice), too slow and too machine-bound for the suite.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { fixture, REPO } from '../helpers/fixtures.js';
import { call, testJob, waitFinal } from '../helpers/serve.js';
import { INSTALL_ARGS, installTarball, packRepo, tempDir } from './packed.js';

const run = promisify(execFile);
const UID = 65532;
const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'; // node:20-bookworm-slim's PATH

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions by stage (comments dropped, continuations joined). */
function parseDockerfile(text: string): Instruction[][] {
  const lines: string[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    if (raw.endsWith('\\')) cur += raw.slice(0, -1) + ' ';
    else {
      cur += raw;
      if (cur.trim()) lines.push(cur.trim());
      cur = '';
    }
  }
  const stages: Instruction[][] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/s.exec(line);
    if (!m) continue;
    const ins = { op: m[1]!.toUpperCase(), args: m[2]!.replace(/\s+/g, ' ').trim() };
    if (ins.op === 'FROM') stages.push([]);
    if (stages.length) stages[stages.length - 1]!.push(ins);
  }
  return stages;
}

/** KEY=value pairs of ENV lines (values unquoted, $PATH expanded to the base image's). */
function imageEnv(stage: Instruction[]): Record<string, string> {
  const env: Record<string, string> = { PATH: BASE_PATH };
  for (const ins of stage.filter((i) => i.op === 'ENV')) {
    for (const m of ins.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '').replace('$PATH', env.PATH ?? BASE_PATH);
  }
  return env;
}

function jsonArray(ins: Instruction | undefined, what: string): string[] {
  assert.ok(ins, `${what} missing`);
  const v = JSON.parse(ins.args.replace(/^CMD\s+/, '').replace(/^--\S+\s+/g, '')) as unknown;
  assert.ok(Array.isArray(v), `${what} in exec form`);
  return v as string[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Shared libraries an ELF file links, as ldd resolves them on this machine. */
function linkedLibraries(file: string): string[] {
  const out = execFileSync('ldd', [file], { encoding: 'utf8' });
  return [...out.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1]!);
}

const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const final = stages[stages.length - 1]!;
const env = imageEnv(final);
const entrypoint = jsonArray(final.find((i) => i.op === 'ENTRYPOINT'), 'ENTRYPOINT');
const cmd = jsonArray(final.find((i) => i.op === 'CMD'), 'CMD');
const healthcheck = (() => {
  const hc = final.find((i) => i.op === 'HEALTHCHECK');
  assert.ok(hc, 'HEALTHCHECK missing');
  const json = hc.args.slice(hc.args.indexOf('CMD ') + 4);
  return JSON.parse(json) as string[];
})();

describe('Dockerfile', () => {
  it('is multi-stage: a build stage with the toolchain, a runtime stage from the same slim Node 20 base', () => {
    assert.ok(stages.length >= 2, 'at least two stages');
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:20-[a-z]+-slim$/m, 'a slim Node 20 base');
    assert.match(stages[0]![0]!.args, /^\$\{NODE_IMAGE\} AS build$/);
    assert.match(final[0]!.args, /^\$\{NODE_IMAGE\} AS runtime$/);
    const build = stages[0]!.map((i) => i.args).join('\n');
    assert.match(build, /npm pack/, 'the build stage packs the npm tarball (prepack builds)');
    assert.ok(build.includes(`npm install --prefix /opt/guestkit ${INSTALL_ARGS.join(' ')}`), 'the build stage installs the tarball with the options this test uses');
  });

  it('the runtime stage installs no tools and copies only the installed package from the build stage', () => {
    const runs = final.filter((i) => i.op === 'RUN').map((i) => i.args);
    for (const r of runs) assert.doesNotMatch(r, /\b(apt-get|apt|dpkg|pip3?|curl|wget)\b|npm (ci|install|i)\b/, `runtime RUN adds tools: ${r}`);
    assert.ok(runs.some((r) => /rm -rf [^&]*\/usr\/local\/bin\/npm/.test(r)), 'npm, npx, corepack and yarn are removed from the runtime');
    const copies = final.filter((i) => i.op === 'COPY' || i.op === 'ADD');
    assert.deepEqual(copies.map((i) => i.args), ['--from=build /opt/guestkit /opt/guestkit']);
  });

  it('runs as a numeric non-root user, with /data as the volume', () => {
    const users = final.filter((i) => i.op === 'USER');
    assert.equal(users.length, 1);
    assert.equal(users[0]!.args, `${UID}:${UID}`);
    assert.ok(final.findIndex((i) => i.op === 'USER') > final.findIndex((i) => i.op === 'COPY'), 'USER after the files are in place');
    assert.equal(final.find((i) => i.op === 'VOLUME')?.args, '["/data"]');
    assert.equal(env.GUESTKIT_DATA_DIR, '/data');
  });

  it('has a HEALTHCHECK, OCI labels, ENTRYPOINT guestkit and serve by default', () => {
    assert.equal(healthcheck[0], 'node');
    assert.ok(healthcheck.join(' ').includes('/healthz'));
    const labels = final.filter((i) => i.op === 'LABEL').map((i) => i.args).join(' ');
    for (const k of ['title', 'description', 'licenses', 'version', 'revision', 'base.name']) assert.ok(labels.includes(`org.opencontainers.image.${k}=`), `label ${k}`);
    for (const arg of ['NODE_IMAGE', 'VERSION', 'REVISION']) assert.ok(final.some((i) => i.op === 'ARG' && i.args.split('=')[0] === arg), `ARG ${arg} declared in the runtime stage (its labels use it)`);
    assert.deepEqual(entrypoint, ['node', '--v8-pool-size=1', '--single-threaded-gc', '/opt/guestkit/node_modules/guestkit/bin/guestkit.js']);
    assert.deepEqual(cmd, ['serve']);
  });

  it('the build stage copies every script `npm run build` runs (prepack runs it inside the image build)', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const used = [...(pkg.scripts.build ?? '').matchAll(/\bscripts\/[\w.-]+/g)].map((m) => m[0]);
    assert.ok(used.length >= 1, `npm run build is: ${pkg.scripts.build}`);
    const copied = stages[0]!.filter((i) => i.op === 'COPY').flatMap((i) => i.args.split(' ').slice(0, -1));
    for (const u of used) assert.ok(copied.includes(u), `${u} (run by npm run build) is not copied into the build stage`);
  });

  it('.dockerignore keeps the build context to what the build stage copies', () => {
    const ignore = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    assert.equal(ignore[0], '*');
    const copied = stages[0]!.filter((i) => i.op === 'COPY').flatMap((i) => i.args.split(' ').slice(0, -1));
    for (const c of copied) assert.ok(ignore.includes(`!${c}`) || ignore.includes(`!${c}/`), `${c} is let through .dockerignore`);
  });
});

describe('the runtime stage, rebuilt by hand and run read-only as uid 65532', () => {
  let work: string;
  let root: string;
  let data: string;
  const images = () => dirname(fixture('inspect-layouts', 'rhel-xfs.qcow2'));
  let serve: ChildProcess | undefined;

  /** The runtime stage's filesystem: base image (node + libraries), /opt/guestkit, /data, /images, the user. */
  before(async () => {
    assert.equal(process.getuid?.(), 0, 'this test needs root (mount namespaces, chroot), as CI has');
    work = tempDir('gk-container-');
    root = join(work, 'root');
    data = join(work, 'data');
    const packed = await packRepo(join(work, 'pack'));
    await installTarball(packed.tarball, join(root, 'opt', 'guestkit'));
    rmSync(join(root, 'opt', 'guestkit', 'package.json'));
    rmSync(join(root, 'opt', 'guestkit', 'package-lock.json'), { force: true });
    // the base image: /usr/local/bin/node (bind-mounted below) and the libraries node and the addon link
    mkdirSync(join(root, 'usr', 'local', 'bin'), { recursive: true });
    writeFileSync(join(root, 'usr', 'local', 'bin', 'node'), '');
    const addon = join(root, 'opt', 'guestkit', 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
    for (const lib of new Set([...linkedLibraries(process.execPath), ...linkedLibraries(addon)])) {
      mkdirSync(join(root, dirname(lib)), { recursive: true });
      copyFileSync(lib, join(root, lib));
    }
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc', 'passwd'), `root:x:0:0:root:/root:/bin/sh\nguestkit:x:${UID}:${UID}::/data:/usr/sbin/nologin\n`);
    writeFileSync(join(root, 'etc', 'group'), `root:x:0:\nguestkit:x:${UID}:\n`);
    for (const d of ['data', 'images', 'proc', 'dev', 'tmp']) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    // the volume: owned by the image's user, as the runtime stage's chown leaves it
    mkdirSync(data);
    chownSync(data, UID, UID);
  });
  after(() => {
    serve?.kill('SIGKILL');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** argv that runs `command` in the image: private mounts, root read-only, /data writable, /images read-only, uid 65532. */
  function inImage(command: string[]): string[] {
    const script = [
      'set -e',
      'R=$1; D=$2; I=$3; N=$4; shift 4',
      'mount --make-rprivate /',
      'mount --bind "$R" "$R" && mount -o remount,bind,ro "$R"',
      'mount --bind "$N" "$R/usr/local/bin/node" && mount -o remount,bind,ro "$R/usr/local/bin/node"',
      'mount --bind "$D" "$R/data"',
      'mount --bind "$I" "$R/images" && mount -o remount,bind,ro "$R/images"',
      'mount --rbind /proc "$R/proc" && mount --rbind /dev "$R/dev"',
      `exec chroot --userspec=${UID}:${UID} --groups=${UID} "$R" "$@"`,
    ].join('\n');
    return ['-m', 'bash', '-c', script, 'in-image', root, data, images(), process.execPath, ...command];
  }

  function runInImage(command: string[], extraEnv: Record<string, string> = {}) {
    return run('unshare', inImage(command), { env: { ...env, ...extraEnv }, cwd: '/', maxBuffer: 64 << 20 });
  }

  it('the ENTRYPOINT inspects a fixture image as uid 65532', async () => {
    const { stdout } = await runInImage([...entrypoint, 'inspect', '--json', '/images/rhel-xfs.qcow2']);
    const doc = JSON.parse(stdout) as { operating_systems: { distro: string; hostname: string }[] };
    assert.equal(doc.operating_systems[0]!.distro, 'rhel');
    assert.equal(doc.operating_systems[0]!.hostname, 'rhel8-db.example.com');
  });

  it('the root filesystem is read-only and the process is not root', async () => {
    const probe = `const fs=require('fs');let ro=[];for(const p of ['/opt/guestkit/x','/etc/x','/x','/images/x']){try{fs.writeFileSync(p,'');}catch(e){ro.push(e.code)}}fs.writeFileSync('/data/probe','');console.log(JSON.stringify({uid:process.getuid(),gid:process.getgid(),groups:process.getgroups(),ro}))`;
    const { stdout } = await runInImage(['node', '-e', probe]);
    const r = JSON.parse(stdout) as { uid: number; gid: number; groups: number[]; ro: string[] };
    assert.deepEqual({ uid: r.uid, gid: r.gid, groups: r.groups }, { uid: UID, gid: UID, groups: [UID] });
    assert.deepEqual(r.ro, ['EROFS', 'EROFS', 'EROFS', 'EROFS']);
    assert.equal(statSync(join(data, 'probe')).uid, UID);
  });

  it('`serve` (the default CMD) passes the image HEALTHCHECK and runs an inspect job, writing only to /data', async () => {
    const port = await freePort();
    const portEnv = { GUESTKIT_PORT: String(port), GUESTKIT_LOG_LEVEL: 'warn' };
    const child = spawn('unshare', inImage([...entrypoint, ...cmd, '--allow-path', '/images']), { env: { ...env, ...portEnv }, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    serve = child;
    let log = '';
    child.stdout!.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // the HEALTHCHECK command, run in the image as Docker would: until it passes or serve exits
    let healthy = false;
    for (let i = 0; i < 200 && !healthy && child.exitCode === null; i++) {
      healthy = await runInImage(healthcheck, portEnv).then(
        () => true,
        () => false,
      );
      if (!healthy) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(healthy, `HEALTHCHECK never passed; serve's output:\n${log}`);
    const url = `http://127.0.0.1:${port}/api/v1`;
    const token = readFileSync(join(data, 'admin-token'), 'utf8').trim();
    assert.equal(statSync(join(data, 'admin-token')).uid, UID);
    const submitted = await call(url, 'POST', '/jobs', { token, body: testJob('guestkit.inspect', { image: { path: '/images/rhel-xfs.qcow2', format: 'qcow2' } }) });
    assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
    const jobId = String(((submitted.body.job as Record<string, unknown>).job as Record<string, unknown>).job_id);
    const job = await waitFinal(url, token, jobId, 60_000);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.ok(existsSync(join(data, 'guestkit.db')), 'the SQLite store is on the /data volume');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `serve's exit after SIGTERM; output:\n${log}`);
    serve = undefined;
  });
});
