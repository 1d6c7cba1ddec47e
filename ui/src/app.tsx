// The shell: sign-in gate, navigation, and the page for the current path.
import { Suspense, lazy, useEffect, useState } from 'react';
import { setUnauthorizedHandler, token } from './api';
import { Link, navigate, useLocation } from './router';
import type { Me } from './types';
import { whoAmI } from './session';
import { SignIn } from './pages/sign-in';
import { InstancesPage } from './pages/instances';

// The list is the first page most people open: it is in the main bundle; the
// other pages (with the YAML parser and the schema validator) load on demand.
const InstancePage = lazy(() => import('./pages/instance').then((m) => ({ default: m.InstancePage })));
const CreateInstancePage = lazy(() => import('./pages/create-instance').then((m) => ({ default: m.CreateInstancePage })));
const TemplatesPage = lazy(() => import('./pages/templates').then((m) => ({ default: m.TemplatesPage })));
const TokensPage = lazy(() => import('./pages/tokens').then((m) => ({ default: m.TokensPage })));
const QuotasPage = lazy(() => import('./pages/quotas').then((m) => ({ default: m.QuotasPage })));
const RolloutsPage = lazy(() => import('./pages/rollouts').then((m) => ({ default: m.RolloutsPage })));

const ME_KEY = 'caelus.console.me';

function storedMe(): Me | undefined {
  const raw = sessionStorage.getItem(ME_KEY);
  return raw && token.get() ? (JSON.parse(raw) as Me) : undefined;
}

export function App() {
  const [me, setMe] = useState<Me | undefined>(storedMe);
  const [notice, setNotice] = useState<string>();
  const loc = useLocation();

  const signOut = (why?: string) => {
    token.clear();
    sessionStorage.removeItem(ME_KEY);
    setMe(undefined);
    setNotice(why);
    navigate('/', { replace: true });
  };
  useEffect(() => setUnauthorizedHandler(() => signOut('Your token was refused (revoked or expired): sign in again.')), []);

  // Page titles name the page, so screen readers and tabs say where you are.
  const title = pageTitle(loc.path);
  useEffect(() => {
    document.title = `${title} · Caelus console`;
  }, [title]);

  if (!me) {
    return (
      <SignIn
        notice={notice}
        onSignIn={async (t) => {
          const who = await whoAmI(t);
          token.set(t);
          sessionStorage.setItem(ME_KEY, JSON.stringify(who));
          setNotice(undefined);
          setMe(who);
        }}
      />
    );
  }
  const admin = me.role === 'admin';
  const nav: Array<[string, string]> = [
    ['/', 'Instances'],
    ['/new', 'New instance'],
    ...(admin
      ? ([
          ['/templates', 'Templates'],
          ['/tokens', 'Tokens'],
          ['/quotas', 'Quotas'],
          ['/rollouts', 'Rollouts'],
        ] as Array<[string, string]>)
      : []),
  ];
  const active = (to: string) => (to === '/' ? loc.path === '/' || loc.path.startsWith('/instances') : loc.path.startsWith(to));
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Caelus</span>
        <nav aria-label="Main">
          <ul>
            {nav.map(([to, label]) => (
              <li key={to}>
                <Link to={to} aria-current={active(to) ? 'page' : undefined}>
                  {label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who" data-testid="who">
          {admin ? 'admin' : `tenant ${me.userId ?? ''}`}
          {me.tokenName ? ` · ${me.tokenName}` : ''}
        </span>
        <button type="button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p role="status">Loading…</p>}>
          <Page path={loc.path} search={loc.search} me={me} />
        </Suspense>
      </main>
    </>
  );
}

function pageTitle(path: string): string {
  if (path.startsWith('/instances/')) return 'Instance';
  return { '/new': 'New instance', '/templates': 'Templates', '/tokens': 'Tokens', '/quotas': 'Quotas', '/rollouts': 'Rollouts' }[path] ?? 'Instances';
}

function Page({ path, search, me }: { path: string; search: URLSearchParams; me: Me }) {
  const m = /^\/instances\/([0-9a-fA-F-]{36})$/.exec(path);
  if (m) return <InstancePage id={m[1]!} me={me} />;
  switch (path) {
    case '/':
    case '/instances':
      return <InstancesPage me={me} search={search} />;
    case '/new':
      return <CreateInstancePage me={me} />;
    case '/templates':
      return <TemplatesPage />;
    case '/tokens':
      return <TokensPage />;
    case '/quotas':
      return <QuotasPage />;
    case '/rollouts':
      return <RolloutsPage />;
    default:
      return (
        <>
          <h1>Not found</h1>
          <p>
            No console page at <code>{path}</code>. <Link to="/">Back to the instances</Link>.
          </p>
        </>
      );
  }
}
