import 'uplot/dist/uPlot.min.css';
import './styles.css';
import type { ComponentType } from 'preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { prefetch, request } from './api';
import { JobPage } from './pages/job';
import { JobsPage } from './pages/jobs';
import { SignIn } from './pages/signin';
import { WorkersPage } from './pages/workers';
import { Link, match, navigate, useLocation } from './router';
import { probeRole, session, type Role, type SessionState } from './session';
import { Loading } from './ui';

function useSession(): SessionState {
  const [s, setS] = useState(session.get());
  useEffect(() => session.subscribe(() => setS(session.get())), []);
  return s;
}

/** A page loaded on first use (the report and the form with its schemas are chunks of their own). */
function lazy<P>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  return function Lazy(props: P) {
    const [C, setC] = useState<ComponentType<P> | null>(() => loaded);
    const [err, setErr] = useState<unknown>(null);
    useEffect(() => {
      if (!C)
        load().then(
          (c) => setC(() => (loaded = c)),
          (e: unknown) => setErr(e),
        );
    }, []);
    if (err) return <p role="alert">This page could not be loaded ({String(err)}); reload the page.</p>;
    return C ? <C {...(props as P & object)} /> : <Loading />;
  };
}

const ReportPage = lazy(() => import('./pages/report').then((m) => m.ReportPage));
const SubmitPage = lazy(() => import('./pages/submit').then((m) => m.SubmitPage));
const FleetPage = lazy(() => import('./pages/fleet').then((m) => m.FleetPage));
/** uPlot (~50 KiB) comes with this chunk only. */
const ChartsPage = lazy(() => import('./pages/charts').then((m) => m.ChartsPage));

// a report opened by its URL: its data is asked for while its chunk loads
{
  const m = match('/jobs/:id/report', window.location.pathname);
  if (m && session.token() !== null) {
    const path = `/jobs/${encodeURIComponent(m.id!)}`;
    prefetch([path, `${path}/result`]);
    void import('./pages/report').catch(() => undefined);
  }
}

const NAV: { href: string; label: string; need?: 'submitter'; active: (p: string) => boolean }[] = [
  { href: '/', label: 'Jobs', active: (p) => p === '/' || p === '/jobs' || (p.startsWith('/jobs/') && !p.endsWith('/report')) },
  { href: '/fleet', label: 'Fleet', active: (p) => p === '/fleet' || p.endsWith('/report') },
  { href: '/workers', label: 'Workers', active: (p) => p === '/workers' },
  { href: '/charts', label: 'Charts', active: (p) => p === '/charts' },
  { href: '/submit', label: 'Submit', need: 'submitter', active: (p) => p === '/submit' },
];

function Shell({ s }: { s: SessionState }) {
  const loc = useLocation();
  const p = loc.path;
  let page;
  let m: Record<string, string> | null;
  if (p === '/' || p === '/jobs') page = <JobsPage query={loc.query} />;
  else if ((m = match('/jobs/:id/report', p))) page = <ReportPage id={m.id!} key={m.id} />;
  else if ((m = match('/jobs/:id', p))) page = <JobPage id={m.id!} key={m.id} />;
  else if (p === '/workers') page = <WorkersPage />;
  else if (p === '/fleet') page = <FleetPage />;
  else if (p === '/charts') page = <ChartsPage />;
  else if (p === '/submit') page = <SubmitPage />;
  else if (p === '/signin') {
    navigate('/', { replace: true });
    page = null;
  } else
    page = (
      <div>
        <h1>Not found</h1>
        <p>
          There is no page at <code>{p}</code>. <Link href="/">See the jobs</Link>.
        </p>
      </div>
    );
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand" aria-label="guestkit home">
          <span aria-hidden="true" class="logo" />
          guestkit
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => !n.need || session.can(n.need)).map((n) => (
              <li key={n.href}>
                <Link href={n.href} aria-current={n.active(p) ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class="role" title="the role of your token">
            {s.token === '' ? 'no auth · admin' : s.role}
          </span>
          {s.token !== '' && (
            <button type="button" class="link" onClick={() => session.signOut('You signed out.')}>
              Sign out
            </button>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

function App() {
  const s = useSession();
  const [checking, setChecking] = useState(s.token === null);
  useEffect(() => {
    if (s.token !== null) {
      setChecking(false);
      return;
    }
    // a server run with --auth none answers without a token: no sign-in then
    let gone = false;
    request<{ role: Role }>('GET', '/whoami', undefined, { token: null })
      .then(async (me) => {
        if (!gone) session.signIn('', await probeRole(async () => me));
      })
      .catch(() => undefined)
      .finally(() => !gone && setChecking(false));
    return () => {
      gone = true;
    };
  }, [s.token]);
  if (s.token === null) return checking ? <Loading what="Connecting" /> : <SignIn notice={s.notice} />;
  return <Shell s={s} />;
}

render(<App />, document.getElementById('app')!);
