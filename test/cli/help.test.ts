import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';

/* Help texts: command descriptions in sentence case; every command with arguments describes them. */

const COMMANDS = [
  ['inspect'], ['filesystems'], ['ls'], ['cat'], ['image'], ['image', 'info'], ['image', 'convert'], ['image', 'checksum'],
  ['job'], ['job', 'validate'], ['job', 'create'], ['job', 'schema'], ['worker'],
];

test('help: one capitalisation style, and an Arguments section on every command that takes arguments', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  for (const cmd of COMMANDS) {
    const r = await runCli([...cmd, '--help']);
    assert.equal(r.code, 0, `${cmd.join(' ')}: ${r.stderr}`);
    const [usageLine, , description] = r.stdout.split('\n');
    assert.match(description!, /^[A-Z]/, `${cmd.join(' ')} --help: description starts with a capital: ${description}`);
    if (/[<[]/.test(usageLine!.replace(/\[options\]|\[command\]/g, ''))) {
      assert.match(r.stdout, /\nArguments:\n/, `${cmd.join(' ')} --help has an Arguments section`);
      const args = r.stdout.split('\nArguments:\n')[1]!.split('\n\n')[0]!.split('\n');
      for (const a of args.filter((l) => /^ {2}\S/.test(l))) assert.match(a, /^\s+\S+\s{2,}\S/, `${cmd.join(' ')}: argument described: "${a}"`);
    }
  }
  // the command list of the top-level and group help is in the same style
  for (const r of [top, await runCli(['image', '--help']), await runCli(['job', '--help'])]) {
    const list = r.stdout.split('\nCommands:\n')[1]!.trimEnd().split('\n');
    for (const line of list.filter((l) => /^ {2}\S/.test(l) && !/^ {2}help /.test(l))) {
      assert.match(line, /^ {2}\S.*?\s{2,}[A-Z]/, `command list entry in sentence case: ${line}`);
    }
  }
});
