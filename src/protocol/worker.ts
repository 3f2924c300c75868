import { z } from 'zod';
import { Timestamp } from './timestamp.js';

export const WORKER_STATES = ['ready', 'busy', 'draining', 'offline'] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

const names = z.array(z.string()).default([]);
const count = z.int().min(0);

/**
 * A worker's registration and heartbeat document. Capability strings a job
 * can require are the operations, the features, `disk.<format>` for each disk
 * format, `fs.<name>` for each filesystem, and any raw `tags`.
 */
export const WorkerRegistrationSchema = z.looseObject({
  worker_id: z.string().min(1),
  version: z.string().min(1),
  hostname: z.string().min(1),
  registered_at: Timestamp,
  capabilities: z
    .looseObject({
      operations: names,
      features: names,
      disk_formats: names,
      filesystems: names,
      tags: names,
    })
    .prefault({}),
  resources: z.looseObject({
    max_concurrent_jobs: z.int().min(1),
    max_disk_size_gb: count,
    available_disk_gb: z.number().min(0).nullish(),
    cpu_cores: count.nullish(),
    memory_gb: z.number().min(0).nullish(),
  }),
  configuration: z
    .looseObject({
      privileged: z.boolean().default(false),
      worker_pool: z.string().nullish(),
      data_locality: z.array(z.string()).nullish(),
    })
    .prefault({}),
  status: z.looseObject({
    state: z.enum(WORKER_STATES),
    current_jobs: count,
    last_heartbeat: Timestamp,
  }),
});
export type WorkerRegistration = z.output<typeof WorkerRegistrationSchema>;
export type WorkerRegistrationInput = z.input<typeof WorkerRegistrationSchema>;

/** Every capability string the worker satisfies. */
export function advertisedCapabilities(reg: Pick<WorkerRegistration, 'capabilities'>): Set<string> {
  const c = reg.capabilities;
  const out = new Set<string>([...c.operations, ...c.features, ...c.tags]);
  for (const f of c.disk_formats) out.add(f.startsWith('disk.') ? f : `disk.${f}`);
  for (const f of c.filesystems) out.add(f.startsWith('fs.') ? f : `fs.${f}`);
  return out;
}
