// Small shared pieces: health bars, relative times, status badges, empty and error states.

import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

export type Health = 'passing' | 'warning' | 'critical';

export interface Counts {
  passing: number;
  warning: number;
  critical: number;
}

export function worst(c: Counts): Health {
  return c.critical > 0 ? 'critical' : c.warning > 0 ? 'warning' : 'passing';
}

export function countChecks(checks: { Status: string }[]): Counts {
  const c: Counts = { passing: 0, warning: 0, critical: 0 };
  for (const x of checks) if (x.Status === 'passing' || x.Status === 'warning' || x.Status === 'critical') c[x.Status]++;
  return c;
}

/** A bar split by check state, with the counts spelled out for screen readers and at a glance. */
export function HealthBar({ counts }: { counts: Counts }) {
  const total = counts.passing + counts.warning + counts.critical;
  const label = `${counts.passing} passing, ${counts.warning} warning, ${counts.critical} critical`;
  return (
    <span class="health" title={label} aria-label={label}>
      <span class="bar">
        {total === 0 ? <span class="seg none" /> : null}
        {(['passing', 'warning', 'critical'] as const).map((k) => (counts[k] > 0 ? <span class={`seg ${k}`} style={{ flexGrow: counts[k] }} /> : null))}
      </span>
      <span class="counts">
        <b class="passing">{counts.passing}</b> <b class="warning">{counts.warning}</b> <b class="critical">{counts.critical}</b>
      </span>
    </span>
  );
}

export function Status({ status }: { status: string }) {
  return <span class={`status ${status}`}>{status}</span>;
}

export function relative(ms: number, now = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  return h < 24 ? `${h} h ago` : `${Math.round(h / 24)} d ago`;
}

/** "updated 5s ago", ticking every few seconds. */
export function Updated({ at }: { at: number }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 5000);
    return () => clearInterval(t);
  }, []);
  if (at === 0) return null;
  return (
    <span class="updated" title={new Date(at).toLocaleString()}>
      live · updated {relative(at)}
    </span>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

/** An error explained: what failed and what to do about it. */
export function ErrorBox({ error }: { error: Error }) {
  const status = error instanceof ApiError ? error.status : 0;
  let hint = 'The agent may be down or unreachable; the view retries on its own.';
  if (status === 403) hint = 'Permission denied: the token in use may not read this. Sign in with a token that can (Token, top right).';
  else if (status === 404) hint = 'Not found: it may have been removed.';
  else if (status >= 500) hint = 'The agent could not answer; the view retries on its own.';
  return (
    <div class="error" role="alert">
      <strong>{status ? `Error ${status}` : 'Error'}:</strong> {error.message}
      <p>{hint}</p>
    </div>
  );
}

export function Tags({ tags }: { tags: string[] | null | undefined }) {
  if (!tags || tags.length === 0) return null;
  return (
    <span class="tags">
      {tags.map((t) => (
        <span class="tag">{t}</span>
      ))}
    </span>
  );
}

export function Meta({ meta }: { meta: Record<string, string> | null | undefined }) {
  const entries = Object.entries(meta ?? {});
  if (entries.length === 0) return <span class="muted">none</span>;
  return (
    <dl class="meta">
      {entries.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </>
      ))}
    </dl>
  );
}
