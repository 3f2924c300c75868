/**
 * Pool-thread entry when running from sources under tsx (tests, `node --import tsx`).
 * Node 20 gives worker threads tsx's require hook but not its ESM hooks, so a dynamic
 * `import('./x.js')` of a .ts source inside a thread (the filesystem registry loads its
 * drivers lazily) would fail. This registers the ESM hooks in the thread first, then
 * loads the real entry. Compiled builds use thread-entry.js directly and never load this.
 */
import type { ThreadReply, ThreadTask } from './thread-entry.js';

let real: Promise<(task: ThreadTask) => Promise<ThreadReply>> | undefined;

export default async function runTask(task: ThreadTask): Promise<ThreadReply> {
  real ??= (async () => {
    const api = (await import('tsx/esm/api')) as { register: () => unknown };
    api.register();
    return (await import('./thread-entry.js')).default;
  })();
  return (await real)(task);
}
