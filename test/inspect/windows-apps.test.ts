import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { readApplications } from '../../src/inspect/windows/applications.js';
import { openHive } from '../../src/registry/index.js';
import { fixture } from '../helpers/fixtures.js';

// SOFTWARE hives written by hivexregedit --merge with the Uninstall views spelled in other cases
// (test/fixtures/windows/build.sh, "key names in other cases").
const open = (v: string) => openHive(readFileSync(fixture('windows', 'mixedcase', `SOFTWARE-${v}`)), `SOFTWARE-${v}`);

test('both Uninstall views are listed whatever the case of the key and value names', async () => {
  for (const v of ['a', 'b']) {
    const found: string[] = [];
    const apps = await readApplications(await open(v), 'x86_64', found);
    assert.deepEqual(
      apps.map((a) => [a.name, a.display_name, a.version, a.arch, a.publisher ?? null, a.install_path ?? null]),
      [
        ['Legacy Tool', 'Legacy Tool 1.0 (x86)', '1.0.7', 'i386', 'Old Software Ltd', 'C:\\Program Files (x86)\\Legacy Tool\\'],
        ['{6A1F3E2B-0C4D-4E5F-8A9B-1C2D3E4F5A6B}', 'Example Agent (x64)', '4.2.0', 'x86_64', 'Example Corp', null],
      ],
      v,
    );
    // the keys read, as the hive spells them (evidence)
    assert.deepEqual(
      found,
      v === 'a'
        ? ['MICROSOFT\\windows\\CurrentVersion\\UNINSTALL', 'WOW6432node\\Microsoft\\Windows\\CurrentVersion\\Uninstall']
        : ['microsoft\\WINDOWS\\currentversion\\uninstall', 'wow6432NODE\\microsoft\\WINDOWS\\CurrentVersion\\UnInstall'],
    );
  }
});

test('the WOW6432Node view is read on every guest: 32-bit, ARM and unknown architectures too', async () => {
  const sw = await open('a');
  const arches = async (arch: string | undefined) => (await readApplications(sw, arch)).map((a) => [a.name, a.arch]);
  assert.deepEqual(await arches('i386'), [['Legacy Tool', 'i386'], ['{6A1F3E2B-0C4D-4E5F-8A9B-1C2D3E4F5A6B}', 'i386']]);
  assert.deepEqual(await arches('aarch64'), [['Legacy Tool', 'arm'], ['{6A1F3E2B-0C4D-4E5F-8A9B-1C2D3E4F5A6B}', 'aarch64']]);
  assert.deepEqual(await arches(undefined), [['Legacy Tool', ''], ['{6A1F3E2B-0C4D-4E5F-8A9B-1C2D3E4F5A6B}', '']]);
});
