import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { navigated } from './router';

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge s-${status}`}>{status}</span>;
}

/** An error from the API, with its code and request id (for the server's log). */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <div class="alert error" role="alert">
      {title && <strong>{title}: </strong>}
      {e ? (
        <>
          <code>{e.code}</code> {e.message}
          {e.requestId && <span class="muted"> (request {e.requestId})</span>}
        </>
      ) : (
        String((error as Error)?.message ?? error)
      )}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="muted" role="status">
      {what}…
    </p>
  );
}

/** A heading that takes focus when its page opens (screen readers hear the new page). */
export function PageTitle({ children, sub }: { children: ComponentChildren; sub?: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (navigated) ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <header class="page-head">
      <h1 tabIndex={-1} ref={ref}>
        {children}
      </h1>
      {sub && <div class="sub">{sub}</div>}
    </header>
  );
}

export function Section({ id, title, children, actions }: { id?: string; title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" id={id} aria-labelledby={id ? `${id}-h` : undefined}>
      <div class="card-head">
        <h2 id={id ? `${id}-h` : undefined}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

/** Key/value facts as a description list. */
export function Facts({ rows }: { rows: [string, ComponentChildren][] }) {
  const shown = rows.filter(([, v]) => v !== undefined && v !== null && v !== '');
  return (
    <dl class="facts">
      {shown.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Re-runs `fn` every `ms` while the tab is visible (and once at once); stops on unmount. */
export function usePoll(fn: () => void | Promise<void>, ms: number, deps: unknown[]): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const tick = async () => {
      if (stopped) return;
      if (!document.hidden) {
        try {
          await saved.current();
        } catch {
          /* the page shows its own error */
        }
      }
      if (!stopped) timer = setTimeout(tick, ms);
    };
    void tick();
    const vis = () => {
      if (!document.hidden && !stopped) {
        clearTimeout(timer);
        void tick();
      }
    };
    document.addEventListener('visibilitychange', vis);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', vis);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
}

/** A clock for "3 s ago" labels. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

export type SortDir = 'ascending' | 'descending';

/** A sortable column header: a button inside the th, aria-sort on the th. */
export function SortHeader({ label, col, sort, onSort, class: cls }: { label: string; col: string; sort: { col: string; dir: SortDir }; onSort: (col: string) => void; class?: string }) {
  const active = sort.col === col;
  return (
    <th scope="col" aria-sort={active ? sort.dir : 'none'} class={cls}>
      <button type="button" class="sort" onClick={() => onSort(col)}>
        {label}
        <span aria-hidden="true" class="arrow">
          {active ? (sort.dir === 'ascending' ? '▲' : '▼') : '↕'}
        </span>
      </button>
    </th>
  );
}

/** Sort state that flips direction when the same column is chosen again. */
export function useSort(initial: string): [{ col: string; dir: SortDir }, (col: string) => void] {
  const [sort, setSort] = useState<{ col: string; dir: SortDir }>({ col: initial, dir: 'ascending' });
  return [sort, (col) => setSort((s) => ({ col, dir: s.col === col && s.dir === 'ascending' ? 'descending' : 'ascending' }))];
}

export function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a ?? '').localeCompare(String(b ?? ''), undefined, { numeric: true, sensitivity: 'base' });
}
