/**
 * The signed-in token and what it may do. The token lives in sessionStorage only (gone when
 * the tab closes, never in a URL or localStorage).
 */
export type Role = 'viewer' | 'submitter' | 'admin';

export interface SessionState {
  /** null: not signed in; '' with auth none (the server needs no token). */
  token: string | null;
  role: Role | null;
  /** Why the last session ended (shown on the sign-in page). */
  notice: string | null;
}

const KEY = 'guestkit.token';
const ROLE = 'guestkit.role';

type Listener = () => void;
const listeners = new Set<Listener>();

function read(k: string): string | null {
  try {
    return sessionStorage.getItem(k);
  } catch {
    return null;
  }
}
function write(k: string, v: string | null): void {
  try {
    if (v === null) sessionStorage.removeItem(k);
    else sessionStorage.setItem(k, v);
  } catch {
    /* storage disabled: the session lasts as long as the page */
  }
}

let state: SessionState = { token: read(KEY), role: (read(ROLE) as Role | null) ?? null, notice: null };

function set(next: Partial<SessionState>): void {
  state = { ...state, ...next };
  for (const l of listeners) l();
}

export const session = {
  get: (): SessionState => state,
  token: (): string | null => state.token,
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
  signIn(token: string, role: Role): void {
    write(KEY, token);
    write(ROLE, role);
    set({ token, role, notice: null });
  },
  signOut(notice: string | null = null): void {
    write(KEY, null);
    write(ROLE, null);
    set({ token: null, role: null, notice });
  },
  /** A 401 from any call: the token was revoked or expired. */
  expired(message: string): void {
    if (state.token === null) return;
    session.signOut(`Signed out: ${message}`);
  },
  can(need: Role): boolean {
    const rank: Record<Role, number> = { viewer: 0, submitter: 1, admin: 2 };
    return state.role !== null && rank[state.role] >= rank[need];
  },
};

/** A job id no store holds: the role probes below only reach the role check. */
const PROBE_ID = 'guestkit-dashboard-role-probe';

/**
 * The token's role from documented behaviour (docs/api.md has no "who am I" call yet):
 * cancelling needs submitter, so a cancel of a job that does not exist answers 403 to a
 * viewer and 404 to the others; the audit log needs admin (200 vs 403). A viewer's and a
 * submitter's probe each leave one `denied` audit entry.
 */
export async function probeRole(call: (method: string, path: string) => Promise<number>): Promise<Role> {
  const cancel = await call('POST', `/jobs/${PROBE_ID}/cancel`);
  if (cancel === 403) return 'viewer';
  const audit = await call('GET', '/audit?limit=1');
  return audit === 200 ? 'admin' : 'submitter';
}
