// Services: every service with its health at a glance; a service's instances with their checks.

import { useState } from 'preact/hooks';
import { enc, useLive } from './api';
import { href, settings } from './router';
import type { ServiceEntry, ServiceSummary } from './types';
import { countChecks, Empty, ErrorBox, HealthBar, Meta, Status, Tags, Updated, worst } from './util';

export function ServicesView() {
  const live = useLive<ServiceSummary[]>('/v1/internal/ui/services');
  const [text, setText] = useState('');
  const [health, setHealth] = useState('');
  const dc = settings.datacenter;
  const all = live.data ?? [];
  const q = text.trim().toLowerCase();
  const shown = all.filter((s) => {
    const counts = { passing: s.ChecksPassing, warning: s.ChecksWarning, critical: s.ChecksCritical };
    if (health !== '' && worst(counts) !== health) return false;
    return q === '' || s.Name.toLowerCase().includes(q) || (s.Tags ?? []).some((t) => t.toLowerCase().includes(q));
  });
  return (
    <section>
      <header class="view-head">
        <h1>Services</h1>
        <Updated at={live.updated} />
      </header>
      <div class="toolbar">
        <input type="search" class="filter" placeholder="Filter by name or tag ( / )" aria-label="Filter services" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <select aria-label="Health" value={health} onChange={(e) => setHealth(e.currentTarget.value)}>
          <option value="">Any health</option>
          <option value="passing">Passing</option>
          <option value="warning">Warning</option>
          <option value="critical">Critical</option>
        </select>
      </div>
      {live.error ? <ErrorBox error={live.error} /> : null}
      {live.data === undefined && !live.error ? <p class="muted">Loading…</p> : null}
      {live.data !== undefined && all.length === 0 ? <Empty>No services are registered yet. Register one with PUT /v1/agent/service/register or a service definition file.</Empty> : null}
      {all.length > 0 && shown.length === 0 ? <Empty>No service matches this filter.</Empty> : null}
      <ul class="rows" data-list>
        {shown.map((s) => (
          <li>
            <a class="row" href={href(`${dc}/services/${encodeURIComponent(s.Name)}/instances`)} data-row>
              <span class="name">
                {s.Name}
                {s.Kind ? <span class="kind">{s.Kind}</span> : null}
                {s.ConnectedWithProxy ? <span class="kind">in mesh</span> : null}
              </span>
              <HealthBar counts={{ passing: s.ChecksPassing, warning: s.ChecksWarning, critical: s.ChecksCritical }} />
              <span class="muted">
                {s.InstanceCount} instance{s.InstanceCount === 1 ? '' : 's'} · {(s.Nodes ?? []).length} node{(s.Nodes ?? []).length === 1 ? '' : 's'}
              </span>
              <Tags tags={s.Tags} />
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Instances({ entries }: { entries: ServiceEntry[] }) {
  const dc = settings.datacenter;
  return (
    <ul class="cards">
      {entries.map((e) => {
        const counts = countChecks(e.Checks);
        const svc = e.Service;
        return (
          <li class={`card ${worst(counts)}`} data-instance={svc.ID}>
            <h3>
              {svc.ID} <HealthBar counts={counts} />
            </h3>
            <dl class="facts">
              <dt>Node</dt>
              <dd>
                <a href={href(`${dc}/nodes/${encodeURIComponent(e.Node.Node)}`)}>{e.Node.Node}</a>
              </dd>
              <dt>Address</dt>
              <dd>
                {svc.Address || e.Node.Address}:{svc.Port}
              </dd>
              <dt>Tags</dt>
              <dd>{svc.Tags && svc.Tags.length > 0 ? <Tags tags={svc.Tags} /> : <span class="muted">none</span>}</dd>
              <dt>Meta</dt>
              <dd>
                <Meta meta={svc.Meta} />
              </dd>
              {svc.Kind === 'connect-proxy' && svc.Proxy ? (
                <>
                  <dt>Proxy for</dt>
                  <dd>
                    {svc.Proxy.DestinationServiceName ?? ''} {svc.Proxy.LocalServicePort ? `(local port ${svc.Proxy.LocalServicePort})` : ''}
                  </dd>
                  <dt>Upstreams</dt>
                  <dd>{(svc.Proxy.Upstreams ?? []).map((u) => `${u.DestinationName} → :${u.LocalBindPort}`).join(', ') || <span class="muted">none</span>}</dd>
                </>
              ) : null}
            </dl>
            <Checks checks={e.Checks} />
          </li>
        );
      })}
    </ul>
  );
}

export function Checks({ checks }: { checks: { CheckID: string; Name: string; Status: string; Output: string; Notes: string; ServiceID: string; Type: string }[] }) {
  if (checks.length === 0) return <p class="muted">No health checks.</p>;
  return (
    <ul class="checks">
      {checks.map((c) => (
        <li class="check" data-check={c.CheckID}>
          <div class="check-head">
            <Status status={c.Status} /> <strong>{c.Name}</strong> <span class="muted">{c.CheckID}</span>
            <span class="muted">{c.ServiceID === '' ? ' · node check' : ''}{c.Type ? ` · ${c.Type}` : ''}</span>
          </div>
          {c.Notes ? <p class="notes">{c.Notes}</p> : null}
          {c.Output ? <pre class="output">{c.Output}</pre> : <p class="muted">No output.</p>}
        </li>
      ))}
    </ul>
  );
}

export function ServiceView({ name }: { name: string }) {
  const live = useLive<ServiceEntry[]>(`/v1/health/service/${enc(name)}`);
  const proxies = useLive<ServiceEntry[]>(`/v1/health/connect/${enc(name)}`);
  const dc = settings.datacenter;
  const entries = live.data ?? [];
  const proxyEntries = (proxies.data ?? []).filter((e) => e.Service.Kind === 'connect-proxy');
  return (
    <section>
      <nav class="crumbs">
        <a href={href(`${dc}/services`)}>Services</a> / <span>{name}</span>
      </nav>
      <header class="view-head">
        <h1>{name}</h1>
        <Updated at={live.updated} />
      </header>
      {live.error ? <ErrorBox error={live.error} /> : null}
      {live.data === undefined && !live.error ? <p class="muted">Loading…</p> : null}
      {live.data !== undefined && entries.length === 0 ? <Empty>No instances of {name} are registered (it may have been deregistered).</Empty> : null}
      <h2>Instances ({entries.length})</h2>
      <Instances entries={entries} />
      {proxyEntries.length > 0 ? (
        <>
          <h2>Connect proxies ({proxyEntries.length})</h2>
          <Instances entries={proxyEntries} />
        </>
      ) : null}
    </section>
  );
}
