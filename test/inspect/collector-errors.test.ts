import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { FsError } from '../../src/fs/errors.js';
import type { FileSystem } from '../../src/fs/types.js';
import { Vfs } from '../../src/fs/vfs.js';
import { budgetFromEnv } from '../../src/inspect/budget.js';
import { CollectorBugError, faultOf, fromGuestBytes, guestBytes, guestFaultMessage, setCollectorTestHook } from '../../src/inspect/faults.js';
import { GuestView } from '../../src/inspect/guest-view.js';
import { GuestSession, inspect, inspectSession, type Inspection } from '../../src/inspect/index.js';
import { decodeGVariant } from '../../src/inspect/linux/gvariant.js';
import { inspectHandler } from '../../src/jobs/handlers/inspect.js';
import type { HandlerContext, ProgressUpdate } from '../../src/jobs/types.js';
import type { JobDocument } from '../../src/protocol/envelope.js';
import { corrupt, GuestkitError, toProtocolError } from '../../src/protocol/errors.js';
import { fixture } from '../helpers/fixtures.js';
import { placeFile } from './hostile-guest.js';
import { OverlayFs } from './overlay-fs.js';

/*
 * A guest file that cannot be parsed is a warning and the rest of the inspection completes; a
 * programming error in a collector (TypeError, ReferenceError, a RangeError of our own code, an
 * assertion) fails the inspection — and the job — with its stack, and is never a warning.
 */

afterEach(() => setCollectorTestHook(undefined));

const debian = () => fixture('inspect', 'debian.qcow2');

/** Inspects the Ubuntu-style guest with files replaced through an overlay (and an optional fs wrapper). */
async function inspectHostile(hostile: (real: FileSystem, overlay: OverlayFs) => Promise<void>, wrap: (fs: FileSystem) => FileSystem = (fs) => fs): Promise<Inspection> {
  const session = await GuestSession.open([fixture('inspect-guests', 'ubuntu-like.qcow2')]);
  try {
    const root = (await session.mountables()).find((m) => m.role === 'linux-root');
    assert.ok(root);
    const overlay = new OverlayFs(root.fs);
    await hostile(root.fs, overlay);
    root.fs = wrap(overlay);
    return await inspectSession(session);
  } finally {
    await session.close();
  }
}

test('hostile guest files are warnings: the damaged fact is left out, every other fact is collected', async () => {
  const r = await inspectHostile(async (real, o) => {
    // a Fedora os-release, so the rpm database is read first: Packages.db (ndb) of garbage
    await placeFile(real, o, '/etc/os-release', Buffer.from('NAME=Fedora\nPRETTY_NAME="Fedora Linux 39"\nID=fedora\nVERSION_ID=39\n'));
    await o.setFile('/var/lib/rpm/Packages.db', Buffer.concat([Buffer.from('RpmP'), Buffer.alloc(8192, 0xff)]));
    // random bytes where the users and network collectors read
    await placeFile(real, o, '/etc/group', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    await placeFile(real, o, '/etc/netplan/50-cloud-init.yaml', Buffer.from('network: {ethernets: [[[[[[\n\t- &a *b\n'));
  });
  const os = r.operating_systems[0]!;
  assert.equal(os.distro, 'fedora');
  assert.equal(os.applications, undefined);
  assert.ok(os.warnings.some((w) => /^applications: \/var\/lib\/rpm\/Packages\.db: .*ndb/.test(w)), os.warnings.join('\n'));
  // the rest of the inspection completed
  assert.ok(os.users?.some((u) => u.name === 'root'), 'users');
  assert.ok(os.services?.length, 'services');
  assert.ok(os.network, 'network');
  assert.ok(os.hostname, 'hostname');
  assert.equal(r.partial, undefined);
});

test('an injected TypeError in a collector fails inspect() with CollectorBugError and its stack', async () => {
  setCollectorTestHook((fact) => {
    if (fact === 'users') (undefined as unknown as { name: string }).name.toString();
  });
  await assert.rejects(inspect({ disks: [debian()] }), (err: unknown) => {
    assert.ok(err instanceof CollectorBugError, String(err));
    assert.ok(err instanceof GuestkitError);
    assert.equal(err.code, 'EXECUTION_ERROR');
    assert.equal(err.collector, 'users');
    assert.match(err.message, /collector users failed with a programming error.*TypeError/);
    assert.match(String(err.details?.stack), /TypeError[\s\S]*collector-errors\.test\.[jt]s/);
    assert.equal(err.retryRecommended, false);
    return true;
  });
});

test('a RangeError of our own code (a Buffer read outside any parser boundary) is a bug, not a warning', async () => {
  setCollectorTestHook((fact) => {
    if (fact === 'network') Buffer.alloc(2).readUInt32LE(0);
  });
  await assert.rejects(inspect({ disks: [debian()] }), (err: unknown) => err instanceof CollectorBugError && err.collector === 'network' && /RangeError/.test(err.message));
});

test('Windows collectors: an injected bug fails the inspection too', async () => {
  setCollectorTestHook((fact) => {
    if (fact === 'services') throw new TypeError('windows collector bug');
  });
  await assert.rejects(inspect({ disks: [fixture('windows', 'server2019.qcow2')] }), (err: unknown) => err instanceof CollectorBugError && err.collector === 'services' && /windows collector bug/.test(err.message));
});

test('a bug below a collector (the filesystem throwing TypeError) is not swallowed by the guest view', async () => {
  /** Throws TypeError when /etc/hostname is read, as a bug in a filesystem reader would. */
  class BuggyFs extends OverlayFs {
    hostnameIno = -1;
    override async read(ino: number, offset: number, length: number): Promise<Buffer> {
      if (ino === this.hostnameIno) throw new TypeError('buggy filesystem');
      return super.read(ino, offset, length);
    }
  }
  const session = await GuestSession.open([fixture('inspect-guests', 'ubuntu-like.qcow2')]);
  try {
    const root = (await session.mountables()).find((m) => m.role === 'linux-root')!;
    const fs = new BuggyFs(root.fs);
    fs.hostnameIno = (await new Vfs(root.fs).resolve('/etc/hostname', true)).ino;
    root.fs = fs;
    await assert.rejects(inspectSession(session), (err: unknown) => err instanceof CollectorBugError && err.collector === 'hostname' && /buggy filesystem/.test(err.message));
  } finally {
    await session.close();
  }
});

test('the inspect job fails loudly on a collector bug: EXECUTION_ERROR, not retried, the stack in the error and the job events', async () => {
  setCollectorTestHook((fact) => {
    if (fact === 'services') throw new ReferenceError('notDefined is not defined');
  });
  const prepared = inspectHandler().prepare({ image: { path: debian(), format: 'qcow2' } });
  assert.ok(prepared.ok);
  const events: ProgressUpdate[] = [];
  const ctx: HandlerContext = {
    job: {} as JobDocument,
    attempt: 1,
    workerId: 'w-test',
    signal: new AbortController().signal,
    progress: (u) => events.push(u),
    resolvedImages: [debian()],
    allowedRoots: [],
  };
  let caught: unknown;
  await prepared.job.run(ctx).catch((err: unknown) => (caught = err));
  assert.ok(caught instanceof CollectorBugError, String(caught));
  // what the worker thread sends back and the result file keeps
  const perr = toProtocolError(caught, 'execution');
  assert.equal(perr.code, 'EXECUTION_ERROR');
  assert.equal(perr.retry_recommended, false);
  assert.match(perr.message, /collector services .*ReferenceError: notDefined is not defined/);
  assert.match(String(perr.details?.stack), /ReferenceError: notDefined is not defined\n\s+at /);
  // the job's event log carries the stack
  const ev = events.find((e) => e.phase === 'execution' && /programming error/.test(e.message));
  assert.ok(ev, JSON.stringify(events.map((e) => e.message)));
  assert.match(String(ev.details?.stack), /ReferenceError[\s\S]*\n\s+at /);
});

test('fault classification: typed guest and I/O errors are warnings; everything else is a bug', () => {
  assert.equal(faultOf(corrupt('bad')), 'guest');
  assert.equal(faultOf(new FsError('ELOOP', 'open', '/etc/passwd')), 'guest');
  assert.equal(faultOf(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', errno: -5, syscall: 'read' })), 'guest');
  assert.equal(faultOf(new TypeError('x')), 'bug');
  assert.equal(faultOf(new RangeError('x')), 'bug');
  assert.equal(faultOf(new Error('plain')), 'bug');
  assert.equal(faultOf(new CollectorBugError('x', new TypeError('y'))), 'bug');
  assert.throws(() => guestFaultMessage(new TypeError('t')), TypeError);
  assert.equal(guestFaultMessage(corrupt('damaged')), 'damaged');
  // at a parser boundary, Buffer bounds and JSON syntax errors are the guest's truncated or damaged data
  assert.throws(() => guestBytes('ndb', () => Buffer.alloc(3).readUInt32LE(0)), (e: unknown) => e instanceof GuestkitError && e.code === 'CORRUPT_IMAGE' && /ndb: truncated/.test(e.message));
  assert.equal((fromGuestBytes(new SyntaxError('Unexpected token'), 'state.json') as GuestkitError).code, 'CORRUPT_IMAGE');
  const te = new TypeError('still a bug');
  assert.equal(fromGuestBytes(te, 'x'), te);
  // the GVariant decoder's damage is typed (it was a plain Error)
  assert.throws(() => decodeGVariant(Buffer.from([1, 2, 3]), '(ssasta{sv})'), (e: unknown) => e instanceof GuestkitError && e.code === 'CORRUPT_IMAGE');
});

test('the guest view hands budget errors and bugs up instead of warning', async () => {
  const warnings: string[] = [];
  const fs = {
    rootIno: 1,
    info: {},
    lookup: async () => {
      throw new TypeError('lookup bug');
    },
    stat: async () => {
      throw new TypeError('stat bug');
    },
    readdir: async () => [],
    read: async () => Buffer.alloc(0),
    readlink: async () => '',
  } as unknown as FileSystem;
  const g = new GuestView(new Vfs(fs), warnings);
  await assert.rejects(g.text('/etc/passwd'), TypeError);
  assert.deepEqual(warnings, []);
  // env parsing stays typed too
  assert.throws(() => budgetFromEnv({ GUESTKIT_INSPECT_MAX_FILE_BYTES: '-1' }), (e: unknown) => e instanceof GuestkitError);
});
