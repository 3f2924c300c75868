import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Application, OperatingSystem } from '../../src/inspect/types.js';
import { formatPurl, osIdentity, packagePurl } from '../../src/sbom/purl.js';

function os(distro: string, pkg: string, id: string | undefined, versionId?: string, major = 0, minor = 0): OperatingSystem {
  return {
    root: '/dev/sda1', type: 'linux', name: 'linux', distro, major_version: major, minor_version: minor, osinfo: '', package_format: pkg,
    mountpoints: {}, filesystems: [], evidence: {}, warnings: [],
    ...(id ? { os_release: { id, ...(versionId ? { version_id: versionId } : {}) } } : {}),
  };
}

function app(name: string, epoch: number, version: string, release: string, arch: string, more: Partial<Application> = {}): Application {
  return { name, epoch, version, release, arch, ...more };
}

/** type, namespace, name, version and qualifiers of a purl string (enough to compare documented forms). */
function parts(purl: string): { coords: string; q: Map<string, string> } {
  const [coords, query] = purl.split('?') as [string, string | undefined];
  return { coords: coords!, q: new Map((query ? query.split('&') : []).map((kv) => kv.split('=') as [string, string])) };
}

const debian12 = os('debian', 'deb', 'debian', '12', 12, 4);
const rocky93 = os('rocky', 'rpm', 'rocky', '9.3', 9, 3);
const rhel93 = os('rhel', 'rpm', 'rhel', '9.3', 9, 3);
const alpine = os('alpinelinux', 'apk', 'alpine', '3.19.1', 3, 19);
const arch = os('archlinux', 'pacman', 'arch');

/**
 * Each row: the purl guestkit writes, and the documented forms it follows — the purl spec's type
 * definitions (github.com/package-url/purl-spec types/*-definition.json), the issue's forms, and
 * what Syft and Trivy emit. A documented form's coordinates and qualifiers must all be in ours,
 * except those named in `differs` (with the reason).
 */
const ROWS: { what: string; os: OperatingSystem; app: Application; want: string; documented: string[]; differs?: Record<string, string> }[] = [
  {
    what: 'deb as in the issue (Syft form): upstream = the source name',
    os: debian12,
    app: app('openssl', 0, '3.0.11', '1~deb12u2', 'amd64', { source_package: 'openssl', source: { name: 'openssl', version: '3.0.11-1~deb12u2' } }),
    want: 'pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl',
    documented: ['pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl'],
  },
  {
    what: 'deb with an epoch: kept in the version, + percent-encoded (spec: attr@1:2.4.47-2%2Bb1)',
    os: debian12,
    app: app('bsdutils', 1, '2.38.1', '5+deb12u3', 'amd64', { source_package: 'util-linux', source: { name: 'util-linux', version: '2.38.1-5+deb12u3' } }),
    want: 'pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12&upstream=util-linux%402.38.1-5%2Bdeb12u3',
    documented: ['pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12'],
  },
  {
    what: 'deb (spec example)',
    os: debian12,
    app: app('attr', 1, '2.4.47', '2+b1', 'amd64', { source_package: 'attr', source: { name: 'attr', version: '1:2.4.47-2' } }),
    want: 'pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64&distro=debian-12&upstream=attr%401:2.4.47-2',
    documented: ['pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64'],
  },
  {
    what: 'deb on Ubuntu: namespace ubuntu',
    os: os('ubuntu', 'deb', 'ubuntu', '22.04', 22, 4),
    app: app('libc6', 0, '2.35', '0ubuntu3.6', 'amd64', { source_package: 'glibc', source: { name: 'glibc', version: '2.35-0ubuntu3.6' } }),
    want: 'pkg:deb/ubuntu/libc6@2.35-0ubuntu3.6?arch=amd64&distro=ubuntu-22.04&upstream=glibc',
    documented: ['pkg:deb/ubuntu/libc6@2.35-0ubuntu3.6?arch=amd64&distro=ubuntu-22.04&upstream=glibc'],
  },
  {
    what: 'rpm with an epoch: version-release, epoch a qualifier (issue, spec)',
    os: rocky93,
    app: app('dbus', 1, '1.12.20', '8.el9', 'x86_64', { source_package: 'dbus', source: { name: 'dbus', version: '1.12.20-8.el9' } }),
    want: 'pkg:rpm/rocky/dbus@1.12.20-8.el9?arch=x86_64&distro=rocky-9.3&epoch=1&upstream=dbus-1.12.20-8.el9.src.rpm',
    documented: ['pkg:rpm/rocky/dbus@1.12.20-8.el9?arch=x86_64&epoch=1&distro=rocky-9.3'],
  },
  {
    what: 'rpm on RHEL: vendor redhat (Syft, Trivy); distro as os-release says it (Syft)',
    os: rhel93,
    app: app('openssl-libs', 1, '3.0.7', '24.el9', 'x86_64', { source_package: 'openssl', source: { name: 'openssl', version: '3.0.7-24.el9' } }),
    want: 'pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?arch=x86_64&distro=rhel-9.3&epoch=1&upstream=openssl-3.0.7-24.el9.src.rpm',
    documented: [
      'pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?arch=x86_64&epoch=1&upstream=openssl-3.0.7-24.el9.src.rpm&distro=rhel-9.3',
      'pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?arch=x86_64&distro=redhat-9.3&epoch=1',
    ],
    differs: { distro: 'Trivy writes its family name (redhat-9.3); Grype looks the distro up by os-release ID' },
  },
  {
    what: 'rpm (spec example, no epoch, no source)',
    os: os('fedora', 'rpm', 'fedora', '25', 25, 0),
    app: app('curl', 0, '7.50.3', '1.fc25', 'i386'),
    want: 'pkg:rpm/fedora/curl@7.50.3-1.fc25?arch=i386&distro=fedora-25',
    documented: ['pkg:rpm/fedora/curl@7.50.3-1.fc25?arch=i386&distro=fedora-25'],
  },
  {
    what: 'apk with arch (issue, Trivy); distro alpine-<VERSION_ID> (Syft)',
    os: alpine,
    app: app('musl', 0, '1.2.4', 'r2', 'x86_64', { source_package: 'musl' }),
    want: 'pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1&upstream=musl',
    documented: ['pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=3.19.1', 'pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&upstream=musl&distro=alpine-3.19.1'],
    differs: { distro: 'Trivy writes the bare VERSION_ID; Grype splits the qualifier at its dash into ID and version' },
  },
  {
    what: 'apk (spec example)',
    os: alpine,
    app: app('curl', 0, '7.83.0', 'r0', 'x86'),
    want: 'pkg:apk/alpine/curl@7.83.0-r0?arch=x86&distro=alpine-3.19.1',
    documented: ['pkg:apk/alpine/curl@7.83.0-r0?arch=x86'],
  },
  {
    what: 'alpm with an epoch in the version (spec example); a rolling release has no VERSION_ID',
    os: arch,
    app: app('containers-common', 1, '0.47.4', '4', 'x86_64'),
    want: 'pkg:alpm/arch/containers-common@1:0.47.4-4?arch=x86_64&distro=arch',
    documented: ['pkg:alpm/arch/containers-common@1:0.47.4-4?arch=x86_64'],
  },
  {
    what: 'alpm (spec examples)',
    os: arch,
    app: app('python-pip', 0, '21.0', '1', 'any', { source_package: 'python-pip' }),
    want: 'pkg:alpm/arch/python-pip@21.0-1?arch=any&distro=arch&upstream=python-pip',
    documented: ['pkg:alpm/arch/python-pip@21.0-1?arch=any'],
  },
];

for (const row of ROWS) {
  test(`purl: ${row.what}`, () => {
    const got = packagePurl(row.os, row.app)!;
    assert.equal(got, row.want);
    const mine = parts(got);
    for (const doc of row.documented) {
      const d = parts(doc);
      assert.equal(mine.coords, d.coords, `coordinates as in ${doc}`);
      for (const [k, v] of d.q) {
        if (row.differs?.[k] && mine.q.get(k) !== v) continue;
        assert.equal(mine.q.get(k), v, `qualifier ${k} as in ${doc}`);
      }
    }
  });
}

test('purl encoding: qualifiers sorted and empty ones dropped, reserved characters and UTF-8 percent-encoded, lower-case type', () => {
  assert.equal(formatPurl({ type: 'DEB', namespace: 'debian', name: 'a b/c', version: '1.0+x@y', qualifiers: { z: '1', a: 'p q', m: '', n: undefined } }), 'pkg:deb/debian/a%20b%2Fc@1.0%2Bx%40y?a=p%20q&z=1');
  assert.equal(formatPurl({ type: 'generic', name: 'café', version: '1:2~3' }), 'pkg:generic/caf%C3%A9@1:2~3');
  assert.equal(packagePurl(os('debian', undefined as never, 'debian', '12'), app('x', 0, '1', '', 'amd64')), undefined, 'no purl type without a package format');
});

test('OS identity: os-release ID and VERSION_ID as written; release files only: the distro in os-release terms', () => {
  assert.deepEqual(osIdentity(alpine), { id: 'alpine', version: '3.19.1' });
  assert.deepEqual(osIdentity(arch), { id: 'arch', version: '' });
  assert.deepEqual(osIdentity(os('centos', 'rpm', undefined, undefined, 5, 11)), { id: 'centos', version: '5.11' });
  assert.deepEqual(osIdentity(os('ubuntu', 'deb', undefined, undefined, 20, 4)), { id: 'ubuntu', version: '20.04' });
  assert.deepEqual(osIdentity(os('fedora', 'rpm', undefined, undefined, 38, 0)), { id: 'fedora', version: '38' });
  assert.deepEqual(osIdentity(os('alpinelinux', 'apk', undefined, undefined, 3, 18)), { id: 'alpine', version: '3.18' });
});
