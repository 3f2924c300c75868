import { useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import { probeRole, session, type Role } from '../session';

/** Sign-in with a token (`guestkit token create`); it is kept for this tab only. */
export function SignIn({ notice }: { notice: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const t = token.trim();
    if (!t) {
      setError('Paste a token: it looks like gk_<id>_<secret>.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const role = await probeRole(() => request<{ role: Role }>('GET', '/whoami', undefined, { token: t }));
      session.signIn(t, role);
    } catch (err) {
      const e2 = err as ApiError;
      setError(e2 instanceof ApiError && e2.status === 401 ? `This token was refused (${String(e2.details.reason ?? e2.code)}): ${e2.message}` : e2.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" class="signin">
      <form class="card" onSubmit={submit} noValidate aria-labelledby="signin-h">
        <h1 id="signin-h">
          <span aria-hidden="true" class="logo" /> Sign in to guestkit
        </h1>
        {notice && (
          <p class="alert info" role="status">
            {notice}
          </p>
        )}
        <div class="field">
          <label for="token">API token</label>
          <input
            id="token"
            name="token"
            type="password"
            autoComplete="off"
            spellcheck={false}
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? 'token-err token-help' : 'token-help'}
            autoFocus
          />
          {error && (
            <p id="token-err" class="field-error" role="alert">
              {error}
            </p>
          )}
          <p id="token-help" class="help">
            Made with <code>guestkit token create</code>; a new server saves its first admin token in <code>&lt;data-dir&gt;/admin-token</code>. The token stays in this tab only (session storage).
          </p>
        </div>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
