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

/** The token's role, from GET /whoami. */
export async function probeRole(whoami: () => Promise<{ role: Role }>): Promise<Role> {
  return (await whoami()).role;
}
