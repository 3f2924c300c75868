import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Top-level command → the module that defines it. Only the invoked command's
 * module is loaded (the others pull in zod, sqlite, fastify …), so a command
 * starts in a fraction of the time; help and unknown commands load them all.
 */
const MODULES: Record<string, () => Promise<Register>> = {
  image: async () => (await import('./image.js')).registerImageCommands,
  job: async () => (await import('./job.js')).registerJobCommands,
  inspect: async () => (await import('./inspect.js')).registerInspectCommands,
  sbom: async () => (await import('./sbom.js')).registerSbomCommands,
  compare: async () => (await import('./compare.js')).registerCompareCommands,
  profile: async () => (await import('./profile.js')).registerProfileCommands,
  filesystems: async () => (await import('./files.js')).registerFileCommands,
  ls: async () => (await import('./files.js')).registerFileCommands,
  cat: async () => (await import('./files.js')).registerFileCommands,
  worker: async () => (await import('./worker.js')).registerWorkerCommands,
  serve: async () => (await import('./serve.js')).registerServeCommands,
  workers: async () => (await import('./fleet.js')).registerFleetCommands,
  usage: async () => (await import('./fleet.js')).registerFleetCommands,
  fleet: async () => (await import('./inventory.js')).registerInventoryCommands,
  token: async () => (await import('./token.js')).registerTokenCommands,
  audit: async () => (await import('./audit.js')).registerAuditCommands,
  advisories: async () => (await import('./advisories.js')).registerAdvisoriesCommands,
  vulns: async () => (await import('./vulns.js')).registerVulnsCommands,
};

export async function registerCommands(program: Command, argv: string[]): Promise<void> {
  const name = argv.slice(2).find((a) => !a.startsWith('-'));
  const wanted = name !== undefined && MODULES[name] ? [MODULES[name]!] : [...new Set(Object.values(MODULES))];
  const done = new Set<Register>();
  for (const load of wanted) {
    const register = await load();
    if (done.has(register)) continue;
    done.add(register);
    register(program);
  }
}
