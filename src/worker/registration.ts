import { cpus, hostname, totalmem } from 'node:os';
import type { HandlerRegistry } from '../jobs/registry.js';
import { nowTimestamp, type WorkerRegistration, type WorkerState } from '../protocol/index.js';

export interface RegistrationInput {
  workerId: string;
  version: string;
  pool: string;
  maxConcurrent: number;
  maxDiskSizeGb: number;
  dataLocality?: string[];
  registry: HandlerRegistry;
  registeredAt: Date;
}

/** The host facts (os.cpus() reads /proc/cpuinfo: far too slow to call per job). */
const host = (() => {
  let cached: { hostname: string; cores: number; memGb: number } | undefined;
  return () => (cached ??= { hostname: hostname(), cores: cpus().length, memGb: Math.round((totalmem() / 2 ** 30) * 10) / 10 });
})();

/** The protocol's worker registration document; capabilities come from the handler registry. */
export function buildRegistration(inp: RegistrationInput, state: WorkerState, currentJobs: number, now = new Date()): WorkerRegistration {
  const caps = inp.registry.capabilities();
  const h = host();
  return {
    worker_id: inp.workerId,
    version: inp.version,
    hostname: h.hostname,
    registered_at: nowTimestamp(inp.registeredAt),
    capabilities: { operations: caps.operations, features: caps.features, disk_formats: caps.disk_formats, filesystems: caps.filesystems, tags: [] },
    resources: {
      max_concurrent_jobs: inp.maxConcurrent,
      max_disk_size_gb: inp.maxDiskSizeGb,
      cpu_cores: h.cores,
      memory_gb: h.memGb,
    },
    configuration: { privileged: false, worker_pool: inp.pool, data_locality: inp.dataLocality ?? [] },
    status: { state, current_jobs: currentJobs, last_heartbeat: nowTimestamp(now) },
  };
}
