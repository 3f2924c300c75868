import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { EXIT_USAGE, reportError, usage } from './output.js';

/** Adds commands to the program: all of them (main.ts) or one command's module (a CLI bundle). */
export type RegisterCommands = (program: Command, argv: string[]) => Promise<void> | void;

const require = createRequire(import.meta.url);
// dist/src/cli/program.js is three levels below the repo root, src/cli/program.ts (run with tsx) two.
function readVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = require(rel) as { name?: string; version: string };
      if (pkg.name === 'guestkit') return pkg.version;
    } catch {
      // not at this level
    }
  }
  return '0.0.0';
}
export const VERSION: string = readVersion();

export async function buildProgramWith(register: RegisterCommands, argv: string[] = []): Promise<Command> {
  const program = new Command('guestkit')
    .description('Inspect virtual-machine disk images without booting or mounting them')
    .version(VERSION, '-V, --version')
    // Parse errors are reported by runCli() the protocol way (`guestkit: USAGE_ERROR: …`, or JSON).
    .configureOutput({ outputError: () => undefined })
    .exitOverride();
  await register(program, argv);
  return program;
}

export async function runCli(argv: string[], register: RegisterCommands): Promise<void> {
  const program = await buildProgramWith(register, argv);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; help shown for a bare command group is a usage error.
      if (err.exitCode === 0 || err.code === 'commander.help') {
        process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
        return;
      }
      // One line, as the README promises: commander puts its "(Did you mean …?)" hint on a line of its own.
      const message = err.message
        .replace(/^error: /, '')
        .replace(/\s*\n\s*\(Did you mean (.*)\?\)\s*$/s, '; did you mean $1?')
        .replace(/\s*\n\s*/g, ' ');
      process.exitCode = reportError(usage(`${message} (see --help)`), argv.includes('--json'));
      return;
    }
    throw err;
  }
}
