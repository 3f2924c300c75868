import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Vfs } from '../../src/fs/vfs.js';
import { GuestView } from '../../src/inspect/guest-view.js';
import { inspect, requireOs, type OperatingSystem } from '../../src/inspect/index.js';
import { detectOtherApplications } from '../../src/inspect/linux/beside-pm.js';
import { BoltDb, BoltError, type BoltBucket } from '../../src/inspect/linux/containers/bbolt.js';
import { dockerImages } from '../../src/inspect/linux/containers/docker.js';
import { podmanImages } from '../../src/inspect/linux/containers/podman.js';
import { detectFlatpaks } from '../../src/inspect/linux/flatpak.js';
import { decodeGVariant } from '../../src/inspect/linux/gvariant.js';
import { squashfsReadFile } from '../../src/inspect/linux/snap-squashfs.js';
import { detectSnaps, SNAPD_STATE_MAX_BYTES } from '../../src/inspect/linux/snap.js';
import { GuestkitError } from '../../src/protocol/errors.js';
import { GuestSession } from '../../src/inspect/session.js';
import type { ContainerImage, FlatpakApplication, OtherApplication, SnapApplication } from '../../src/inspect/types.js';
import { fixture } from '../helpers/fixtures.js';
import { rng } from '../helpers/rng.js';
import { calls, CountingFs } from './counting-fs.js';
import { OverlayFs } from './overlay-fs.js';

// The guest of test/fixtures/beside-pm/build.sh: flatpak installations and Podman storage made
// by the real tools, snapd's state.json and Docker's image store in their published formats.
const out = (f: string) => fixture('beside-pm', f);
let os: OperatingSystem;
let session: GuestSession;
let rootFs: Awaited<ReturnType<GuestSession['mountables']>>[number];
before(async () => {
  os = requireOs(await inspect(out('guest.qcow2'))).operating_systems[0]!;
  session = await GuestSession.open([out('guest.qcow2')]);
  rootFs = (await session.mountables()).find((m) => m.role === 'linux-root')!;
  assert.ok(rootFs);
});
after(async () => session.close());

const of = <T extends OtherApplication>(source: T["source"]) => (os.other_applications ?? []).filter((a): a is T => a.source === source);

test('dpkg packages stay as they were; the rest is in other_applications with its source', () => {
  assert.deepEqual(os.applications?.map((a) => a.name), ['base-files', 'flatpak', 'podman']);
  assert.ok(os.applications?.every((a) => !('engine' in a)));
  assert.deepEqual([...new Set(os.other_applications?.map((a) => a.source))], ['snap', 'flatpak', 'container']);
  assert.deepEqual(os.warnings, []);
  assert.ok(os.evidence.other_applications?.includes('/var/lib/snapd/state.json'));
});

test('podman: every name of every image as `podman images --format json` lists it (digest, size, created)', () => {
  const truth = JSON.parse(readFileSync(out('podman-images.json'), 'utf8')) as { Id: string; Names: string[]; Digest: string; Size: number; Created: number }[];
  const mine = of<ContainerImage>('container').filter((c) => c.engine === 'podman' && c.store === '/var/lib/containers/storage');
  // `podman images` has a row per name, each listing all the image's names: one per image id here.
  const expected = [...new Map(truth.map((t) => [t.Id, t])).values()].flatMap((t) => t.Names.map((n) => `${n} sha256:${t.Id} ${t.Digest} ${t.Size} ${t.Created}`)).sort();
  const got = mine.map((c) => `${c.repository}:${c.tag} ${c.image_id} ${c.digest} ${c.size} ${Math.floor(Date.parse(c.created!) / 1000)}`).sort();
  assert.deepEqual(got, expected);
  assert.equal(got.length, 3);
  assert.ok(mine.every((c) => c.name === c.repository && c.version === c.tag));
  assert.equal(mine.filter((c) => c.store === '/var/lib/containers/storage').length, 3);
});

test('podman rootless: a user\'s own store, as `podman --root ~/.local/share/containers/storage images` lists it', () => {
  const truth = JSON.parse(readFileSync(out('podman-images-alice.json'), 'utf8')) as { Id: string; Names: string[]; Digest: string; Size: number }[];
  const mine = of<ContainerImage>('container').filter((c) => c.store === '/home/alice/.local/share/containers/storage');
  assert.deepEqual(
    mine.map((c) => [`${c.repository}:${c.tag}`, c.image_id, c.digest, c.size]),
    truth.map((t) => [t.Names[0], `sha256:${t.Id}`, t.Digest, t.Size]),
  );
  assert.equal(mine.length, 1);
});

/** `flatpak list --columns=application,version,branch,arch,origin,installation,ref,active,size` */
function flatpakList(file: string) {
  return readFileSync(out(file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const [application, version, branch, arch, origin, installation, ref, active, size] = l.split('\t');
      return { application: application!, version: version!, branch: branch!, arch: arch!, origin: origin!, installation: installation!, ref: ref!, active: active!, size: size! };
    });
}
/** GLib's g_format_size: decimal units, one decimal. */
const gsize = (n: number) => (n < 1000 ? `${n} bytes` : `${(n / 1000).toFixed(1)}\u00a0kB`);

test('flatpak: system and per-user deployments as `flatpak list` and `flatpak info` report them', () => {
  const mine = of<FlatpakApplication>('flatpak');
  const rows = [...flatpakList('flatpak-system.tsv'), ...flatpakList('flatpak-user.tsv')];
  assert.equal(mine.length, rows.length);
  for (const r of rows) {
    const m = mine.find((a) => a.name === r.application && a.branch === r.branch);
    assert.ok(m, r.application);
    assert.equal(m.arch, r.arch);
    assert.equal(m.origin, r.origin);
    assert.equal(m.installation === 'system' ? 'system' : 'user', r.installation);
    assert.equal(`${m.name}/${m.arch}/${m.branch}`, r.ref);
    assert.equal(m.commit.slice(0, 12), r.active);
    // LC_ALL=C: GLib's no-break space between number and unit came out as '?'
    assert.equal(gsize(m.installed_size!).replace('\u00a0', ' '), r.size.replace(/[^\x21-\x7e]|\?/g, ' '));
    // flatpak shows the deployment's appdata-version; without AppStream data it shows none and the
    // version comes from the app's own metainfo (its newest <release>).
    if (r.version) assert.equal(m.version, r.version);
  }
  const notes = mine.find((a) => a.name === 'org.guestkit.Notes')!;
  assert.equal(notes.installation, '/home/alice/.local/share/flatpak');
  assert.equal(notes.version, '1.0.3');
  assert.equal(mine.find((a) => a.name === 'org.guestkit.Platform')!.kind, 'runtime');
  for (const [file, name] of [['flatpak-info-hello.txt', 'org.guestkit.Hello'], ['flatpak-info-notes.txt', 'org.guestkit.Notes']] as const) {
    const info = readFileSync(out(file), 'utf8');
    const field = (k: string) => new RegExp(`^\\s*${k}: (.*)$`, 'm').exec(info)?.[1];
    const m = mine.find((a) => a.name === name)!;
    assert.equal(m.ref, field('Ref'));
    assert.equal(m.commit, field('Commit'));
    assert.equal(m.runtime, field('Runtime'));
    assert.equal(m.origin, field('Origin'));
  }
});

/** snap.yaml's version as `unsquashfs -cat <snap> meta/snap.yaml` printed it (YAML quotes removed). */
const yamlVersion = (file: string) => /^version: (.*)$/m.exec(readFileSync(out(`snap-yaml-${file}.txt`), 'utf8'))![1]!.replace(/^'(.*)'$/, '$1');

test('snaps: revision, channel, tracking, type and kept revisions from state.json; the version from the current revision’s snap.yaml', () => {
  const snaps = of<SnapApplication>('snap');
  const row = (n: string) => snaps.find((s) => s.name === n)!;
  assert.deepEqual(snaps.map((s) => s.name), ['core22', 'hello-world', 'lxd', 'mytool', 'snapd']);
  assert.deepEqual(row('core22'), { source: 'snap', name: 'core22', version: yamlVersion('core22_1663'), revision: '1663', active: true, revisions: ['1621', '1663'], channel: 'latest/stable', tracking: 'latest/stable', snap_id: 'amcUKQILKXHHTlmSa7NMdnXSx02dNeeT', snap_type: 'base' });
  assert.equal(row('core22').version, '20231123', 'the current revision’s, not 1621’s');
  // xz without fragments (as snap pack makes them), xz with fragments (mytool, a local build)
  assert.equal(row('lxd').version, yamlVersion('lxd_31333'));
  assert.equal(row('mytool').version, yamlVersion('mytool_x1'));
  // lzo, snap pack's other compression; snapd's own snap file is not in the image
  assert.equal(row('hello-world').version, yamlVersion('hello-world_29'));
  assert.equal(row('hello-world').version, '6.4');
  assert.equal(row('snapd').version, undefined);
  assert.ok(os.evidence.other_applications?.includes('/var/lib/snapd/snaps/lxd_31333.snap'));
  assert.equal(row('lxd').tracking, '5.21/stable');
  // disabled snap; newer snapd's tracking-channel key; revision installed from another channel
  assert.deepEqual([row('hello-world').active, row('hello-world').tracking, row('hello-world').channel], [false, 'latest/edge', 'latest/candidate']);
  assert.equal(row('mytool').revision, 'x1');
});

test('docker: references, digest, image id, created and the summed layer sizes', () => {
  type Img = { image_id: string; size: number; created: string };
  const truth = JSON.parse(readFileSync(out('docker-truth.json'), 'utf8')) as Img & { digest: string; dangling: Img };
  const all = of<ContainerImage>('container').filter((c) => c.engine === 'docker');
  const mine = all.filter((c) => c.repository);
  assert.deepEqual(mine.map((c) => c.tag), ['1.2', 'stable']);
  // the image without a name: listed by its id, as `docker images` lists <none>
  assert.deepEqual(
    all.filter((c) => !c.repository).map((c) => [c.name, c.image_id, c.size, c.created, c.tag, c.digest]),
    [[truth.dangling.image_id, truth.dangling.image_id, truth.dangling.size, truth.dangling.created, undefined, undefined]],
  );
  for (const c of mine) {
    assert.equal(c.repository, 'registry.example.com/team/app');
    assert.equal(c.image_id, truth.image_id);
    assert.equal(c.digest, truth.digest);
    assert.equal(c.size, truth.size);
    assert.equal(c.created, truth.created);
  }
  // The same image id Podman has: docker's config is the one `podman save` wrote for it.
  assert.ok(of<ContainerImage>('container').some((c) => c.engine === 'podman' && c.image_id === truth.image_id));
});

/** The guest with files replaced, through a fresh view. */
async function viewWith(files: Record<string, Buffer>): Promise<{ g: GuestView; warnings: string[]; fs: CountingFs }> {
  const overlay = new OverlayFs(rootFs.fs);
  for (const [p, b] of Object.entries(files)) await overlay.setFile(p, b);
  const fs = new CountingFs(overlay);
  const warnings: string[] = [];
  return { g: new GuestView(new Vfs(fs, rootFs.device.device), warnings), warnings, fs };
}

test('hostile snapd state: malformed JSON, wrong shapes, a huge file give warnings, not crashes', async () => {
  for (const [text, want] of [
    ['{"data":{"snaps":{"a":', /not JSON/],
    ['[1,2]', /no "data" object/],
    ['{"data":{"snaps":[]}}', /data.snaps is not an object/],
  ] as const) {
    const { g, warnings } = await viewWith({ '/var/lib/snapd/state.json': Buffer.from(text) });
    assert.equal(await detectSnaps(g), undefined);
    assert.match(warnings.join('\n'), want);
  }
  const { g, warnings } = await viewWith({ '/var/lib/snapd/state.json': Buffer.from('{"data":{"snaps":{"x":{"sequence":5},"y":7,"z":{"sequence":[null,{"revision":3}],"current":3}}}}') });
  assert.deepEqual((await detectSnaps(g))?.map((s) => [s.name, s.revision, s.revisions]), [['z', '3', ['3']]]);
  assert.equal(warnings.length, 2);
  const huge = await viewWith({ '/var/lib/snapd/state.json': Buffer.alloc(SNAPD_STATE_MAX_BYTES + 1, 0x20) });
  assert.equal(await detectSnaps(huge.g), undefined);
  assert.match(huge.warnings.join('\n'), /more than the .* read/);
  assert.equal(huge.fs.work.bytes, 0, 'a state.json over the cap is not read');
});

test('hostile snap files: mutated and truncated squashfs images give a warning and no version, never an exception', async () => {
  const real = new Vfs(rootFs.fs);
  const r = rng(23);
  for (const file of ['lxd_31333', 'mytool_x1', 'hello-world_29']) {
    const path = `/var/lib/snapd/snaps/${file}.snap`;
    const orig = await real.readFile(path, { maxBytes: 4 << 20 });
    let failed = 0;
    for (let i = 0; i < 150; i++) {
      const b = Buffer.from(orig);
      // the superblock, the tables at the end (inodes, directories, fragments) or anywhere
      const region = i % 3 === 0 ? 96 : i % 3 === 1 ? Math.min(4096, b.length) : b.length;
      const from = i % 3 === 1 ? b.length - region : 0;
      for (let k = 0; k < 1 + Math.floor(r() * 6); k++) b[from + Math.floor(r() * region)] = [0, 0xff, 0x80, 1, Math.floor(r() * 256)][Math.floor(r() * 5)]!;
      const data = i % 10 === 9 ? b.subarray(0, Math.floor(r() * b.length)) : b;
      try {
        await squashfsReadFile(async (o, l) => data.subarray(o, o + l), data.length, 'meta/snap.yaml', 256 * 1024);
      } catch (err) {
        failed++;
        assert.ok(err instanceof GuestkitError, `${file} case ${i}: ${(err as Error).stack}`);
      }
    }
    assert.ok(failed > 0, file);
  }
  const { g, warnings } = await viewWith({ '/var/lib/snapd/snaps/lxd_31333.snap': Buffer.from('hsqs but not really a squashfs image') });
  const lxd = (await detectSnaps(g))!.find((s) => s.name === 'lxd')!;
  assert.equal(lxd.version, undefined);
  assert.equal(lxd.revision, '31333');
  assert.match(warnings.join('\n'), /lxd_31333\.snap: squashfs: .*version not read/);
});

test('hostile container stores: broken images.json, layers.json and repositories.json are warned about', async () => {
  const podman = await viewWith({ '/var/lib/containers/storage/vfs-images/images.json': Buffer.from('[{"id": 1}, {"id":"ab", "layer":"nope", "names":[3,"x/y:1"]}, 4]') });
  const imgs = await podmanImages(podman.g);
  assert.deepEqual(imgs?.map((i) => [i.name, i.tag, i.size]), [['x/y', '1', undefined]]);
  assert.equal(podman.warnings.length, 2);
  const bad = await viewWith({ '/var/lib/containers/storage/vfs-images/images.json': Buffer.from('{') });
  assert.deepEqual(await podmanImages(bad.g), []);
  assert.match(bad.warnings.join(), /not JSON/);
  const docker = await viewWith({ '/var/lib/docker/image/overlay2/repositories.json': Buffer.from('{"Repositories":{"a":{"a:1":"sha256:../../etc/passwd","a:2":"sha256:' + 'f'.repeat(64) + '"},"b":3}}') });
  const d = await dockerImages(docker.g);
  assert.deepEqual(d?.filter((i) => i.repository).map((i) => [i.name, i.tag, i.size]), [['a', '2', undefined]]);
  assert.equal(d?.filter((i) => !i.repository).length, 2, 'the stored images, now unnamed');
  assert.match(docker.warnings.join('\n'), /not a sha256 digest/);
  assert.match(docker.warnings.join('\n'), /missing; size and creation time/);
});

test('hostile flatpak deploy files: random and mutated GVariant bytes never escape as exceptions', async () => {
  const base = '/var/lib/flatpak/app/org.guestkit.Hello/x86_64/stable';
  const real = new Vfs(rootFs.fs);
  const commit = await real.readlink(`${base}/active`);
  const path = `${base}/${commit}/deploy`;
  const orig = await real.readFile(path, { maxBytes: 1 << 20 });
  const r = rng(20);
  for (let i = 0; i < 300; i++) {
    const b = Buffer.from(orig);
    if (i % 3 === 0) for (let k = 0; k < 1 + Math.floor(r() * 8); k++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    const data = i % 3 === 1 ? b.subarray(0, Math.floor(r() * b.length)) : i % 3 === 2 ? Buffer.from(Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256))) : b;
    try {
      decodeGVariant(data, '(ssasta{sv})');
    } catch (err) {
      assert.match((err as Error).message, /^gvariant: /, `case ${i}: ${(err as Error).stack}`);
    }
    const { g } = await viewWith({ [path]: data });
    const apps = await detectFlatpaks(g);
    assert.ok(apps?.some((a) => a.name === 'org.guestkit.Hello' && a.commit === commit), `case ${i}: the deployment is still listed`);
  }
});

test('a guest without snapd, flatpak or container stores: nothing reported, a handful of filesystem calls', async () => {
  const s = await GuestSession.open([fixture('inspect-guests', 'ubuntu-like.qcow2')]);
  try {
    const r = (await s.mountables()).find((m) => m.role === 'linux-root')!;
    const fs = new CountingFs(r.fs);
    const warnings: string[] = [];
    assert.equal(await detectOtherApplications(new GuestView(new Vfs(fs, r.device.device), warnings)), undefined);
    assert.deepEqual(warnings, []);
    assert.equal(fs.work.bytes, 0);
    // one stat or readdir per store, each a walk of a few path components
    // one stat or readdir per store (snapd, flatpak, Docker, Podman, containerd, /etc/containers):
    // a lookup and a stat per path component each
    assert.ok(calls(fs.work) <= 48, JSON.stringify(fs.work));
  } finally {
    await s.close();
  }
});

/** ctr's progress.Bytes: 1024-based units, one decimal. */
function ctrSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

test('containerd: every image of every namespace as `ctr images ls` lists it (name, target digest, size)', () => {
  const mine = of<ContainerImage>('container').filter((c) => c.engine === 'containerd');
  for (const ns of ['k8s.io', 'default']) {
    const rows = readFileSync(out(`ctr-images-${ns}.txt`), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/))
      .map(([ref, , digest, num, unit]) => `${ref} ${digest} ${num} ${unit}`);
    const got = mine.filter((c) => c.namespace === ns).map((c) => `${c.tag ? `${c.repository}:${c.tag}` : c.name} ${c.digest} ${ctrSize(c.size!)}`);
    assert.deepEqual(got.sort(), rows.sort(), ns);
  }
  // The image id is the config digest: containerd's CRI-style id name and Podman's id agree.
  const app = mine.filter((c) => c.repository === 'registry.example.com/team/app');
  assert.deepEqual(app.map((c) => c.tag).sort(), ['1.2', 'multi', 'prod']);
  // The multi-platform image (an index; arm64 listed first, only amd64 present) is the same image:
  // its size is the index plus the amd64 manifest's blobs, as ctr sums them.
  const multi = app.find((c) => c.tag === 'multi')!;
  assert.notEqual(multi.digest, app.find((c) => c.tag === '1.2')!.digest);
  assert.equal(multi.image_id, app.find((c) => c.tag === '1.2')!.image_id);
  assert.ok(multi.size! > 0);
  assert.ok(mine.some((c) => c.name === app[0]!.image_id && c.repository === undefined));
  assert.ok(of<ContainerImage>('container').some((c) => c.engine === 'podman' && c.image_id === app[0]!.image_id));
  assert.ok(mine.every((c) => c.created && !Number.isNaN(Date.parse(c.created))));
});

/** Every key path and value (hex) of a bbolt file as our reader sees it, in bboltdump.go's format. */
async function dumpBolt(db: BoltDb, b: BoltBucket, prefix: string, lines: string[]): Promise<void> {
  for (const e of await db.entries(b)) {
    const p = `${prefix}/${e.key.toString('latin1')}`;
    if (e.bucket) {
      lines.push(`${p}/`);
      await dumpBolt(db, e.bucket, p, lines);
    } else lines.push(`${p} = ${e.value!.toString('hex')}`);
  }
}

test('bbolt reader: a file written by go.etcd.io/bbolt (branch, overflow, inline pages) reads as bbolt reads it', async () => {
  const file = readFileSync(out('pages.bolt'));
  const db = await BoltDb.open(async (o, l) => file.subarray(o, o + l), file.length);
  const lines: string[] = [];
  await dumpBolt(db, db.root, '', lines);
  assert.deepEqual(lines, readFileSync(out('pages.bolt.txt'), 'utf8').split('\n').slice(0, -1));
  assert.equal(lines.length, 3205);
});

test('bbolt reader: damaged files throw BoltError, never anything else, and stop within the page cap', async () => {
  const file = readFileSync(out('pages.bolt'));
  const r = rng(7);
  let threw = 0;
  for (let i = 0; i < 200; i++) {
    const b = Buffer.from(file);
    // keep one meta page valid half the time so damage lands in the tree
    const from = i % 2 ? 4096 * 2 : 0;
    for (let k = 0; k < 1 + Math.floor(r() * 16); k++) b[from + Math.floor(r() * (b.length - from))] = Math.floor(r() * 256);
    try {
      const db = await BoltDb.open(async (o, l) => b.subarray(o, o + l), b.length, { maxPages: 2000 });
      await dumpBolt(db, db.root, '', []);
    } catch (err) {
      threw++;
      assert.ok(err instanceof BoltError, `case ${i}: ${(err as Error).stack}`);
    }
  }
  assert.ok(threw > 0);
  const meta = await viewWith({ '/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db': Buffer.alloc(65536, 7) });
  assert.deepEqual(await detectOtherApplications(meta.g).then((a) => a?.filter((x) => x.source === 'container' && x.engine === 'containerd')), []);
  assert.match(meta.warnings.join('\n'), /meta.db: bbolt: no valid meta page/);
});

test('mutated store metadata (state.json, images.json, layers.json, repositories.json, image config): warnings, never exceptions', async () => {
  const real = new Vfs(rootFs.fs);
  const files = [
    '/var/lib/snapd/state.json',
    '/var/lib/containers/storage/vfs-images/images.json',
    '/var/lib/containers/storage/vfs-layers/layers.json',
    '/var/lib/docker/image/overlay2/repositories.json',
  ];
  const r = rng(11);
  for (const path of files) {
    const orig = await real.readFile(path, { maxBytes: 1 << 20 });
    for (let i = 0; i < 60; i++) {
      const b = Buffer.from(orig);
      for (let k = 0; k < 1 + Math.floor(r() * 6); k++) b[Math.floor(r() * b.length)] = '{}[]":,0a\\'.charCodeAt(Math.floor(r() * 10));
      const { g } = await viewWith({ [path]: i % 5 === 0 ? b.subarray(0, Math.floor(r() * b.length)) : b });
      const apps = await detectOtherApplications(g);
      assert.ok(Array.isArray(apps), `${path} case ${i}`);
      // the stores not touched still read in full
      assert.equal(apps.filter((a) => a.source === 'flatpak').length, 3);
    }
  }
});
