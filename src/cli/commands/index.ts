import type { Command } from 'commander';
import { registerImageCommands } from './image.js';
import { registerJobCommands } from './job.js';
import { registerInspectCommands } from './inspect.js';
import { registerFileCommands } from './files.js';
import { registerWorkerCommands } from './worker.js';

/** Each command module adds its commands here; one line per module. */
export function registerCommands(program: Command): void {
  void program;
  registerImageCommands(program);
  registerJobCommands(program);
  registerInspectCommands(program);
  registerFileCommands(program);
  registerWorkerCommands(program);
}
