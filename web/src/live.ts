/**
 * The global status stream (GET /api/v1/events): one fetch-read event stream (EventSource cannot
 * send the Authorization header), reconnected with a growing delay when it drops.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, readEventStream } from './api';

export interface StatusChange {
  change: 'submitted' | 'started' | 'retrying' | 'finished';
  job_id: string;
  status: string;
  namespace: string;
  operation: string;
  name: string | null;
  at: string;
  attempt?: number;
  worker_id?: string | null;
  error_code?: string | null;
}

/**
 * Follows the status stream of `namespace` (admins; undefined: theirs or all) while mounted.
 * `onChange` gets every change; `onConnect` runs each time the stream (re)opens, so the caller
 * reloads what it missed. Returns whether the stream is open now.
 */
export function useStatusStream(namespace: string | undefined, onChange: (c: StatusChange) => void, onConnect: () => void): boolean {
  const [open, setOpen] = useState(false);
  const handlers = useRef({ onChange, onConnect });
  handlers.current = { onChange, onConnect };
  useEffect(() => {
    const ctl = new AbortController();
    let delay = 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connect = async () => {
      try {
        await readEventStream(`/events${namespace ? `?namespace=${encodeURIComponent(namespace)}` : ''}`, (m) => {
          if (m.event === 'hello') {
            delay = 1000;
            setOpen(true);
            handlers.current.onConnect();
          } else if (m.event === 'status') {
            try {
              handlers.current.onChange(JSON.parse(m.data) as StatusChange);
            } catch {
              /* not one of ours */
            }
          }
        }, { signal: ctl.signal });
      } catch (err) {
        if (ctl.signal.aborted) return;
        // a refused token signs out (api.ts); other refusals are not retried quickly
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) delay = 30_000;
      }
      if (ctl.signal.aborted) return;
      setOpen(false);
      timer = setTimeout(() => void connect(), delay);
      delay = Math.min(delay * 2, 30_000);
    };
    void connect();
    return () => {
      ctl.abort();
      clearTimeout(timer);
      setOpen(false);
    };
  }, [namespace]);
  return open;
}
