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

/** The protocol's worker registration document; capabilities come from the handler registry. */
export function buildRegistration(inp: RegistrationInput, state: WorkerState, currentJobs: number, now = new Date()): WorkerRegistration {
  const caps = inp.registry.capabilities();
  return {
    worker_id: inp.workerId,
    version: inp.version,
    hostname: hostname(),
    registered_at: nowTimestamp(inp.registeredAt),
    capabilities: { operations: caps.operations, features: caps.features, disk_formats: caps.disk_formats, filesystems: caps.filesystems, tags: [] },
    resources: {
      max_concurrent_jobs: inp.maxConcurrent,
      max_disk_size_gb: inp.maxDiskSizeGb,
      cpu_cores: cpus().length,
      memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    },
    configuration: { privileged: false, worker_pool: inp.pool, data_locality: inp.dataLocality ?? [] },
    status: { state, current_jobs: currentJobs, last_heartbeat: nowTimestamp(now) },
  };
}
