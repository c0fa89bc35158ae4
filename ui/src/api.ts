// The public HTTP API as the UI uses it: the signed-in token on every request (a header, never
// the URL), errors carrying their status, and blocking queries that follow X-Consul-Index.

import { useEffect, useState } from 'preact/hooks';

const TOKEN_KEY = 'tribune-ui-token';

/** The token lives in sessionStorage only: gone when the tab closes, never in a URL. */
export function getToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setToken(token: string): void {
  if (token === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Answer<T> {
  body: T;
  index: number;
}

export async function request<T>(method: string, url: string, body?: string, signal?: AbortSignal): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  const token = getToken();
  if (token !== '') headers['X-Consul-Token'] = token;
  const init: RequestInit = { method, headers, cache: 'no-store' };
  if (body !== undefined) init.body = body;
  if (signal) init.signal = signal;
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, text.trim() || res.statusText || `HTTP ${res.status}`);
  const index = Number(res.headers.get('X-Consul-Index') ?? '0');
  const type = res.headers.get('Content-Type') ?? '';
  return { body: (type.includes('json') && text !== '' ? JSON.parse(text) : text) as T, index: Number.isFinite(index) ? index : 0 };
}

export interface Live<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  /** When the data last changed (ms since the epoch). */
  updated: number;
}

/**
 * One blocking query kept open on `url` while the view is mounted: each answer re-renders, the
 * next request waits on its X-Consul-Index, and leaving the view aborts it. After an error it
 * backs off (1s, doubling to 30s) rather than polling.
 */
export function useLive<T>(url: string | null): Live<T> {
  const [state, setState] = useState<Live<T>>({ data: undefined, error: undefined, updated: 0 });
  useEffect(() => {
    setState({ data: undefined, error: undefined, updated: 0 });
    if (url === null) return;
    const ac = new AbortController();
    let index = 0;
    let backoff = 1000;
    const sep = url.includes('?') ? '&' : '?';
    const loop = async (): Promise<void> => {
      while (!ac.signal.aborted) {
        const started = Date.now();
        try {
          const q = index > 0 ? `${url}${sep}index=${index}&wait=5m` : url;
          const out = await request<T>('GET', q, undefined, ac.signal);
          backoff = 1000;
          // An index that goes backwards (a restore) starts over, as Consul's docs advise.
          const next = out.index < index ? 0 : out.index;
          if (next !== index || index === 0) setState({ data: out.body, error: undefined, updated: Date.now() });
          // A server without blocking support would answer at once: never spin on it.
          if (next === index && Date.now() - started < 50) await sleep(1000, ac.signal);
          index = next;
        } catch (e) {
          if (ac.signal.aborted) return;
          setState((s) => ({ ...s, error: e instanceof Error ? e : new Error(String(e)) }));
          await sleep(backoff, ac.signal);
          backoff = Math.min(backoff * 2, 30_000);
        }
      }
    };
    void loop();
    return () => ac.abort();
  }, [url]);
  return state;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** A path segment for the API: each part of a key or name escaped, slashes kept. */
export function enc(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
