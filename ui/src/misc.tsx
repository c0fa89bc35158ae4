// Sessions with the locks they hold, recent user events, and ACL token sign-in and tokens.

import { useEffect, useState } from 'preact/hooks';
import { type ApiError, getToken, request, setToken, useLive } from './api';
import { SessionTable } from './nodes';
import type { KVPair, Session, UserEvent } from './types';
import { Empty, ErrorBox, Updated } from './util';

export function SessionsView() {
  const live = useLive<Session[]>('/v1/session/list');
  const [locks, setLocks] = useState(new Map<string, string[]>());
  // Which keys each session locks: read again whenever the session list changes.
  useEffect(() => {
    const ac = new AbortController();
    request<KVPair[]>('GET', '/v1/kv/?recurse', undefined, ac.signal).then(
      (out) => {
        const m = new Map<string, string[]>();
        for (const p of out.body) if (p.Session) m.set(p.Session, [...(m.get(p.Session) ?? []), p.Key]);
        setLocks(m);
      },
      () => setLocks(new Map()),
    );
    return () => ac.abort();
  }, [live.updated]);
  return (
    <section>
      <header class="view-head">
        <h1>Sessions and locks</h1>
        <Updated at={live.updated} />
      </header>
      {live.error ? <ErrorBox error={live.error} /> : null}
      {live.data === undefined && !live.error ? <p class="muted">Loading…</p> : <SessionTable sessions={live.data ?? []} locks={locks} />}
    </section>
  );
}

function payload(p: string | null): string {
  if (!p) return '';
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(atob(p), (c) => c.charCodeAt(0)));
  } catch {
    return `base64: ${p}`;
  }
}

export function EventsView() {
  const live = useLive<UserEvent[]>('/v1/event/list');
  const events = [...(live.data ?? [])].reverse();
  return (
    <section>
      <header class="view-head">
        <h1>Recent user events</h1>
        <Updated at={live.updated} />
      </header>
      {live.error ? <ErrorBox error={live.error} /> : null}
      {live.data !== undefined && events.length === 0 ? <Empty>No user events yet. Fire one with tribune event -name=deploy or PUT /v1/event/fire/:name.</Empty> : null}
      {events.length > 0 ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Payload</th>
                <th>Filters</th>
                <th>LTime</th>
                <th>ID</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr>
                  <td>{e.Name}</td>
                  <td>
                    <code>{payload(e.Payload)}</code>
                  </td>
                  <td>{[e.NodeFilter && `node ${e.NodeFilter}`, e.ServiceFilter && `service ${e.ServiceFilter}`, e.TagFilter && `tag ${e.TagFilter}`].filter(Boolean).join(', ') || <span class="muted">all</span>}</td>
                  <td>{e.LTime}</td>
                  <td>
                    <code>{e.ID}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

/** Sign in: the token goes to sessionStorage (this tab only) and is checked against /v1/acl/token/self. */
export function TokenView({ onChange }: { onChange: () => void }) {
  const [value, setValue] = useState('');
  const [msg, setMsg] = useState('');
  const signedIn = getToken() !== '';
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setToken(value.trim());
    setValue('');
    try {
      await request('GET', '/v1/acl/token/self');
      setMsg('Signed in.');
    } catch (err) {
      const status = (err as ApiError).status;
      setMsg(status === 403 ? 'This token is not valid here (permission denied); views will say what it may not read.' : 'Token saved for this tab; the agent could not check it (ACLs may be off).');
    }
    onChange();
  };
  return (
    <section>
      <header class="view-head">
        <h1>ACL token</h1>
      </header>
      <p>The token is kept in this browser tab only (sessionStorage) and sent as the X-Consul-Token header, never in a URL.</p>
      <form class="token-form" onSubmit={submit}>
        <label>
          Secret ID
          <input type="password" name="token" autocomplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <button type="submit">Sign in</button>
        {signedIn ? (
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setToken('');
              setMsg('Signed out.');
              onChange();
            }}
          >
            Sign out
          </button>
        ) : null}
      </form>
      {msg ? <p role="status">{msg}</p> : null}
    </section>
  );
}

interface Token {
  AccessorID: string;
  Description: string;
  Policies?: { Name: string }[] | null;
  Local: boolean;
}

export function TokensView() {
  const live = useLive<Token[]>('/v1/acl/tokens');
  return (
    <section>
      <header class="view-head">
        <h1>ACL tokens</h1>
        <Updated at={live.updated} />
      </header>
      {live.error ? <ErrorBox error={live.error} /> : null}
      {live.data !== undefined && live.data.length === 0 ? <Empty>No tokens.</Empty> : null}
      <ul class="rows">
        {(live.data ?? []).map((t) => (
          <li class="row">
            <code>{t.AccessorID}</code> <span>{t.Description}</span> <span class="muted">{(t.Policies ?? []).map((p) => p.Name).join(', ')}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
