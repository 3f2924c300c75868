import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileTypeOfDirentType, fileTypeOfMode } from '../../src/fs/mode.js';

test('fileTypeOfMode: every S_IFMT value of the host (node constants), with permission bits ignored', () => {
  const want: [number, string][] = [
    [constants.S_IFREG, 'file'],
    [constants.S_IFDIR, 'directory'],
    [constants.S_IFLNK, 'symlink'],
    [constants.S_IFCHR, 'chardev'],
    [constants.S_IFBLK, 'blockdev'],
    [constants.S_IFIFO, 'fifo'],
    [constants.S_IFSOCK, 'socket'],
  ];
  for (const [bits, type] of want) {
    assert.equal(fileTypeOfMode(bits), type);
    assert.equal(fileTypeOfMode(bits | 0o7777), type);
  }
  assert.equal(fileTypeOfMode(0o644), 'unknown');
  assert.equal(fileTypeOfMode(0o170000), 'unknown');
  assert.equal(fileTypeOfMode(0xffffffff), 'unknown');
});

test('fileTypeOfMode: agrees with the host stat of real files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-mode-'));
  try {
    writeFileSync(join(dir, 'f'), 'x');
    mkdirSync(join(dir, 'd'));
    symlinkSync('f', join(dir, 'l'));
    assert.equal(fileTypeOfMode(lstatSync(join(dir, 'f')).mode), 'file');
    assert.equal(fileTypeOfMode(lstatSync(join(dir, 'd')).mode), 'directory');
    assert.equal(fileTypeOfMode(lstatSync(join(dir, 'l')).mode), 'symlink');
    assert.equal(fileTypeOfMode(lstatSync('/dev/null').mode), 'chardev');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fileTypeOfDirentType: the shared FT_* codes, unknown past 7', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].map(fileTypeOfDirentType),
    ['unknown', 'file', 'directory', 'chardev', 'blockdev', 'fifo', 'socket', 'symlink'],
  );
  assert.equal(fileTypeOfDirentType(8), 'unknown'); // XFS whiteout / Btrfs xattr
  assert.equal(fileTypeOfDirentType(255), 'unknown');
});
