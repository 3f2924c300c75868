import type { AnchorHTMLAttributes, ComponentChildren, TargetedMouseEvent } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** Client-side routes on real paths (the server answers index.html for them). */
export interface Location {
  path: string;
  query: URLSearchParams;
}

const listeners = new Set<() => void>();
const current = (): Location => ({ path: window.location.pathname, query: new URLSearchParams(window.location.search) });
window.addEventListener('popstate', () => {
  navigated = true;
  listeners.forEach((l) => l());
});

/** True once the app moved to another page (the first page keeps the browser's own focus order). */
export let navigated = false;

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (!opts.replace) navigated = true;
  const before = window.location.pathname + window.location.search;
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  if (window.location.pathname + window.location.search !== before || !opts.replace) listeners.forEach((l) => l());
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const l = () =>
      setLoc((old) => {
        const now = current();
        // fragment-only changes (#packages) are not a new page
        return now.path === old.path && now.query.toString() === old.query.toString() ? old : now;
      });
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return loc;
}

/** Matches `/jobs/:id/report` against a path; null when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i]!.startsWith(':')) {
      try {
        out[p[i]!.slice(1)] = decodeURIComponent(s[i]!);
      } catch {
        return null;
      }
    } else if (p[i] !== s[i]) return null;
  }
  return out;
}

type AnchorProps = AnchorHTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren };

/** An in-app link: a real href (open in new tab works), navigation without a reload. */
export function Link(props: AnchorProps) {
  const { href, onClick, ...rest } = props;
  return (
    <a
      {...rest}
      href={href}
      onClick={(e: TargetedMouseEvent<HTMLAnchorElement>) => {
        if (typeof onClick === 'function') (onClick as (e: TargetedMouseEvent<HTMLAnchorElement>) => void)(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    />
  );
}

export const jobPath = (id: string) => `/jobs/${encodeURIComponent(id)}`;
export const reportPath = (id: string) => `/jobs/${encodeURIComponent(id)}/report`;
