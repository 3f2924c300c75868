import type { Command } from 'commander';

/** Each command module adds its commands here; one line per module. */
export function registerCommands(program: Command): void {
  void program;
}
