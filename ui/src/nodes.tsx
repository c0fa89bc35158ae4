// Nodes: every node with its health and services; a node's checks, services and sessions.

import { useState } from 'preact/hooks';
import { enc, useLive } from './api';
import { href, settings } from './router';
import { Checks } from './services';
import type { NodeInfo, Session } from './types';
import { countChecks, Empty, ErrorBox, HealthBar, Meta, Tags, Updated } from './util';

export function NodesView() {
  const live = useLive<NodeInfo[]>('/v1/internal/ui/nodes');
  const [text, setText] = useState('');
  const dc = settings.datacenter;
  const all = live.data ?? [];
  const q = text.trim().toLowerCase();
  const shown = all.filter((n) => q === '' || n.Node.toLowerCase().includes(q) || n.Address.includes(q));
  return (
    <section>
      <header class="view-head">
        <h1>Nodes</h1>
        <Updated at={live.updated} />
      </header>
      <div class="toolbar">
        <input type="search" class="filter" placeholder="Filter by name or address ( / )" aria-label="Filter nodes" value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </div>
      {live.error ? <ErrorBox error={live.error} /> : null}
      {live.data === undefined && !live.error ? <p class="muted">Loading…</p> : null}
      {live.data !== undefined && all.length === 0 ? <Empty>No nodes are registered.</Empty> : null}
      {all.length > 0 && shown.length === 0 ? <Empty>No node matches this filter.</Empty> : null}
      <ul class="rows" data-list>
        {shown.map((n) => (
          <li>
            <a class="row" href={href(`${dc}/nodes/${encodeURIComponent(n.Node)}`)} data-row>
              <span class="name">{n.Node}</span>
              <HealthBar counts={countChecks(n.Checks)} />
              <span class="muted">
                {n.Address} · {n.Services.length} service{n.Services.length === 1 ? '' : 's'}
              </span>
              <Tags tags={Object.entries(n.Meta ?? {}).map(([k, v]) => `${k}=${v}`)} />
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function NodeView({ name }: { name: string }) {
  const live = useLive<NodeInfo>(`/v1/internal/ui/node/${enc(name)}`);
  const sessions = useLive<Session[]>(`/v1/session/node/${enc(name)}`);
  const dc = settings.datacenter;
  const n = live.data;
  return (
    <section>
      <nav class="crumbs">
        <a href={href(`${dc}/nodes`)}>Nodes</a> / <span>{name}</span>
      </nav>
      <header class="view-head">
        <h1>{name}</h1>
        <Updated at={live.updated} />
      </header>
      {live.error ? <ErrorBox error={live.error} /> : null}
      {n === undefined && !live.error ? <p class="muted">Loading…</p> : null}
      {n ? (
        <>
          <dl class="facts">
            <dt>Address</dt>
            <dd>{n.Address}</dd>
            <dt>ID</dt>
            <dd>{n.ID || <span class="muted">none</span>}</dd>
            <dt>Tagged addresses</dt>
            <dd>
              <Meta meta={n.TaggedAddresses} />
            </dd>
            <dt>Meta</dt>
            <dd>
              <Meta meta={n.Meta} />
            </dd>
          </dl>
          <h2>
            Health checks <HealthBar counts={countChecks(n.Checks)} />
          </h2>
          <Checks checks={n.Checks} />
          <h2>Services ({n.Services.length})</h2>
          {n.Services.length === 0 ? <Empty>No services on this node.</Empty> : null}
          <ul class="rows" data-list>
            {n.Services.map((s) => (
              <li>
                <a class="row" href={href(`${dc}/services/${encodeURIComponent(s.Service)}/instances`)} data-row>
                  <span class="name">
                    {s.ID}
                    {s.Kind ? <span class="kind">{s.Kind}</span> : null}
                  </span>
                  <span class="muted">
                    {s.Service} · {s.Address || n.Address}:{s.Port}
                  </span>
                  <Tags tags={s.Tags} />
                </a>
              </li>
            ))}
          </ul>
          <h2>Sessions</h2>
          {sessions.error ? <ErrorBox error={sessions.error} /> : null}
          <SessionTable sessions={sessions.data ?? []} />
        </>
      ) : null}
    </section>
  );
}

export function SessionTable({ sessions, locks }: { sessions: Session[]; locks?: Map<string, string[]> }) {
  const dc = settings.datacenter;
  if (sessions.length === 0) return <Empty>No sessions.</Empty>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th>ID</th>
            <th>Name</th>
            <th>Node</th>
            <th>Behavior</th>
            <th>TTL</th>
            <th>Checks</th>
            {locks ? <th>Locks held</th> : null}
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr data-session={s.ID}>
              <td>
                <code>{s.ID}</code>
              </td>
              <td>{s.Name || <span class="muted">—</span>}</td>
              <td>
                <a href={href(`${dc}/nodes/${encodeURIComponent(s.Node)}`)}>{s.Node}</a>
              </td>
              <td>{s.Behavior}</td>
              <td>{s.TTL || <span class="muted">—</span>}</td>
              <td>{[...(s.NodeChecks ?? []), ...(s.ServiceChecks ?? []).map((c) => c.ID)].join(', ') || <span class="muted">—</span>}</td>
              {locks ? (
                <td>
                  {(locks.get(s.ID) ?? []).map((k) => (
                    <a class="lock" href={href(`${dc}/kv/${enc(k)}/edit`)}>
                      {k}
                    </a>
                  ))}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
