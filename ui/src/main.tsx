// The Tribune web UI: a shell (header, navigation, token sign-in) over views picked from the URL,
// with Consul UI's paths so links kept in runbooks keep working.

import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getToken, request } from './api';
import { KVCreate, KVFolder, KVKey } from './kv';
import { EventsView, SessionsView, TokensView, TokenView } from './misc';
import { NodesView, NodeView } from './nodes';
import { href, interceptLinks, navigate, settings, useRoute } from './router';
import { ServicesView, ServiceView } from './services';
import { Empty } from './util';
import './style.css';

const dc = settings.datacenter;

function dec(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The view for an app path (`dc1/services/web/instances`), escaped as in the URL. */
function View({ path, onToken }: { path: string; onToken: () => void }) {
  const parts = path.split('/');
  const section = parts[1] ?? '';
  const rest = parts.slice(2);
  switch (section) {
    case 'services':
      if (rest.length === 0 || rest[0] === '') return <ServicesView />;
      return <ServiceView name={dec(rest[0]!)} />;
    case 'nodes':
      if (rest.length === 0 || rest[0] === '') return <NodesView />;
      return <NodeView name={dec(rest[0]!)} />;
    case 'kv': {
      const key = rest.map(dec).join('/');
      if (key.endsWith('/edit')) return <KVKey keyName={key.slice(0, -'/edit'.length)} />;
      if (key === 'create' || key.endsWith('/create')) return <KVCreate prefix={key.slice(0, -'create'.length)} />;
      return <KVFolder prefix={key === '' || key.endsWith('/') ? key : key + '/'} />;
    }
    case 'sessions':
      return <SessionsView />;
    case 'events':
      return <EventsView />;
    case 'acls':
      if (rest[0] === 'tokens' && getToken() !== '') return <TokensView />;
      return <TokenView onChange={onToken} />;
    default:
      return <Empty>Nothing lives at this address. Try the services list.</Empty>;
  }
}

/** j/k or arrows move between rows, / focuses the filter, Escape leaves a field. */
function onKey(e: KeyboardEvent): void {
  const t = e.target as HTMLElement;
  const typing = t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT';
  if (typing) {
    if (e.key === 'Escape') t.blur();
    return;
  }
  if (e.key === '/') {
    const f = document.querySelector<HTMLInputElement>('input.filter');
    if (f) {
      e.preventDefault();
      f.focus();
    }
    return;
  }
  const down = e.key === 'j' || e.key === 'ArrowDown';
  const up = e.key === 'k' || e.key === 'ArrowUp';
  if (!down && !up) return;
  const rows = [...document.querySelectorAll<HTMLElement>('[data-row]')];
  if (rows.length === 0) return;
  e.preventDefault();
  const at = rows.indexOf(document.activeElement as HTMLElement);
  const next = at === -1 ? 0 : Math.max(0, Math.min(rows.length - 1, at + (down ? 1 : -1)));
  rows[next]!.focus();
}

function App() {
  const path = useRoute();
  const [, setTokenTick] = useState(0);
  const [acls, setAcls] = useState(false);
  const signedIn = getToken() !== '';
  // Consul's entry points: /ui/ and /ui/<dc> open the services of the agent's datacenter.
  const parts = path.split('/');
  const needsRedirect = parts[0] === '' || parts.length < 2 || parts[1] === '';
  useEffect(() => {
    if (needsRedirect) navigate(`${dc}/services`, true);
  }, [path]);
  useEffect(() => {
    // ACL views show only where ACLs answer (403 counts: they exist, this token may not list them).
    const ac = new AbortController();
    request('GET', '/v1/acl/tokens', undefined, ac.signal).then(
      () => setAcls(true),
      (e: { status?: number }) => setAcls(e.status === 403 || e.status === 401),
    );
    return () => ac.abort();
  }, [signedIn]);
  useEffect(() => {
    const section = parts[1] ?? '';
    document.title = `${section ? section[0]!.toUpperCase() + section.slice(1) : 'Tribune'} · ${dc} · Tribune`;
  }, [path]);
  if (needsRedirect) return null;
  const section = parts[1] ?? '';
  const link = (to: string, label: string) => (
    <a href={href(`${dc}/${to}`)} class={section === to.split('/')[0] ? 'active' : ''} aria-current={section === to.split('/')[0] ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <header class="top">
        <a class="brand" href={href(`${dc}/services`)}>
          Tribune <span class="dc">{dc}</span>
        </a>
        <nav class="main-nav">
          {link('services', 'Services')}
          {link('nodes', 'Nodes')}
          {link('kv/', 'Key/Value')}
          {link('sessions', 'Sessions')}
          {link('events', 'Events')}
          {acls ? link('acls/tokens', 'ACL') : null}
        </nav>
        <a class="token" href={href(`${dc}/acls/token`)}>
          {signedIn ? 'Token ✓' : 'Token'}
        </a>
      </header>
      <main>
        <View key={path} path={path} onToken={() => setTokenTick((n) => n + 1)} />
      </main>
    </>
  );
}

interceptLinks();
document.addEventListener('keydown', onKey);
const root = document.getElementById('app')!;
// The static "Loading…" placeholder goes: render diffs against, and would keep, what is there.
root.textContent = '';
render(<App />, root);
