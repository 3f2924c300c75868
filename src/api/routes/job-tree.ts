import type { FastifyInstance } from 'fastify';
import { namespaceOf, type Hold, type JobRecord, type JobStore } from '../../ports/job-store.js';
import type { ApiContext } from '../context.js';

/** One job of a dependency tree. */
export interface TreeNode {
  job_id: string;
  status: string;
  operation: string;
  hold: Hold | null;
  error_code: string | null;
  /** Its parents (up) or dependants (down); absent past the depth or node limit. */
  children?: TreeNode[];
  /** Not expanded: shown already, too deep, or the node limit was reached. */
  truncated?: boolean;
}

/** Levels each way and nodes in all: a DAG is shown, not walked without end. */
export const TREE_DEPTH = 10;
export const TREE_NODES = 500;

/**
 * GET /jobs/:id/tree: the jobs this one waits for (`parents`, up) and the jobs that wait
 * for it (`dependants`, down), each level with status and hold. Only the caller's
 * namespace is walked.
 */
export function registerJobTreeRoutes(app: FastifyInstance, api: ApiContext): void {
  app.get<{ Params: { id: string } }>('/jobs/:id/tree', async (req) => {
    const p = await api.caller(req, 'viewer', 'job.get', req.params.id);
    const rec = await api.visibleJob(p, req.params.id);
    const ns = namespaceOf(rec.job);
    const store = api.deps.store;
    const budget = { nodes: TREE_NODES };
    const up = await walk(store, ns, rec.job.execution.depends_on ?? [], (r) => Promise.resolve(r.job.execution.depends_on ?? []), budget, new Set([rec.job.job_id]));
    const down = await walk(store, ns, await store.dependants(rec.job.job_id), (r) => store.dependants(r.job.job_id), budget, new Set([rec.job.job_id]));
    return { ...node(rec), parents: up, dependants: down };
  });
}

async function walk(
  store: JobStore,
  ns: string,
  ids: string[],
  next: (r: JobRecord) => Promise<string[]>,
  budget: { nodes: number },
  seen: Set<string>,
  depth = 1,
): Promise<TreeNode[]> {
  const out: TreeNode[] = [];
  for (const id of ids) {
    if (budget.nodes <= 0) break;
    const rec = await store.get(id);
    if (!rec || namespaceOf(rec.job) !== ns) continue;
    budget.nodes--;
    const n = node(rec);
    const further = await next(rec);
    if (further.length > 0) {
      if (seen.has(id) || depth >= TREE_DEPTH || budget.nodes <= 0) n.truncated = true;
      else {
        seen.add(id);
        n.children = await walk(store, ns, further, next, budget, seen, depth + 1);
      }
    }
    out.push(n);
  }
  return out;
}

function node(r: JobRecord): TreeNode {
  return { job_id: r.job.job_id, status: r.status, operation: r.job.operation, hold: r.hold, error_code: r.errorCode };
}
