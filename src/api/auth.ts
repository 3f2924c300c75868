import { ROLES, unauthenticated, type Role, type TokenStore } from '../ports/token-store.js';

export { ROLES, type Role };

/** Who is calling: the actor recorded in the audit log, its role and its namespace. */
export interface Principal {
  /** `token:<id>`, or `anonymous` without auth. */
  actor: string;
  role: Role;
  /** The token's namespace; for an admin its own one (admins see all). */
  namespace: string;
}

export interface Authenticator {
  /** Throws UNAUTHENTICATED with details.reason missing|malformed|unknown|revoked|expired. */
  authenticate(authorization: string | undefined): Promise<Principal>;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

export function tokenAuthenticator(tokens: TokenStore): Authenticator {
  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization.trim() === '') {
        throw unauthenticated('missing', 'an Authorization: Bearer <token> header is required');
      }
      const m = BEARER.exec(authorization);
      if (!m) throw unauthenticated('malformed', 'the Authorization header is not "Bearer <token>"');
      const rec = await tokens.verify(m[1]!);
      return { actor: `token:${rec.id}`, role: rec.role, namespace: rec.namespace };
    },
  };
}

/** `--auth none` (loopback only): every caller is an admin. */
export const noAuth: Authenticator = {
  authenticate: async () => ({ actor: 'anonymous', role: 'admin', namespace: 'default' }),
};

const RANK: Record<Role, number> = { viewer: 0, submitter: 1, admin: 2 };

/** viewer < submitter < admin: a role may do what the roles below it may. */
export function allows(p: Principal, need: Role): boolean {
  return RANK[p.role] >= RANK[need];
}

/** Admins see every namespace; everyone else only their own (another one's job is a 404). */
export function seesNamespace(p: Principal, namespace: string): boolean {
  return p.role === 'admin' || p.namespace === namespace;
}
