import type { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { buildProgramWith, runCli } from './program.js';

export { VERSION } from './program.js';

/** The whole CLI: every command, each module loaded only when its command is invoked. */
export async function buildProgram(argv: string[] = []): Promise<Command> {
  return buildProgramWith(registerCommands, argv);
}

export async function main(argv: string[]): Promise<void> {
  await runCli(argv, registerCommands);
}
