// HTTP checks (Consul's CheckHTTP): 2xx passing, 429 warning, anything else (or no answer
// within the timeout) critical. The output names the request and keeps the body's first bytes.

import { STATUS_CODES } from 'node:http';
import { Agent, type Dispatcher, interceptors, request } from 'undici';
import type { CheckType } from '../definitions.js';
import { longTimeoutSignal } from '../../util/timers.js';
import { outputLimit, periodic, type Report, type Runner, truncate } from './status.js';

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 10; // Go's http.Client default

// Two shared connection pools, keyed by whether certificates are verified and redirects followed.
const dispatchers = new Map<string, Dispatcher>();
function dispatcherFor(skipVerify: boolean, followRedirects: boolean): Dispatcher {
  const key = `${skipVerify}/${followRedirects}`;
  let d = dispatchers.get(key);
  if (!d) {
    // Checks are periodic: no keep-alive, so a target sees each probe as a fresh connection,
    // as with Consul (which disables keep-alives for checks).
    // The check's Timeout is the only limit on the exchange, as Go's http.Client.Timeout is:
    // undici's own 300s header and body timeouts would cut a longer Timeout short.
    const agent = new Agent({ connect: { rejectUnauthorized: !skipVerify }, pipelining: 0, headersTimeout: 0, bodyTimeout: 0 });
    d = followRedirects ? agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS })) : agent;
    dispatchers.set(key, d);
  }
  return d;
}

function headersOf(t: CheckType): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(t.Header ?? {})) out[k] = v;
  const has = (name: string): boolean => Object.keys(out).some((k) => k.toLowerCase() === name);
  if (!has('user-agent')) out['User-Agent'] = 'Consul Health Check';
  if (!has('accept')) out.Accept = 'text/plain, text/*, */*';
  return out;
}

/** Reads at most `max` bytes of the body (and how many there were, up to a bound), then drops the rest. */
async function readSome(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > max) break;
  }
  body.destroy();
  return Buffer.concat(chunks);
}

function goError(method: string, url: string, e: unknown, timeoutMs: number): string {
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const cause = err.cause ?? err;
  const verb = method.charAt(0) + method.slice(1).toLowerCase();
  const prefix = `${verb} ${JSON.stringify(url)}`;
  if (err.name === 'TimeoutError' || err.name === 'AbortError' || cause.code === 'UND_ERR_HEADERS_TIMEOUT' || cause.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `${prefix}: context deadline exceeded (Client.Timeout exceeded while awaiting headers) after ${timeoutMs}ms`;
  }
  if (cause.code === 'ECONNREFUSED') {
    const u = new URL(url);
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    return `${prefix}: dial tcp ${u.hostname}:${port}: connect: connection refused`;
  }
  return `${prefix}: ${cause.message || String(e)}`;
}

export function httpRunner(t: CheckType, report: Report): Runner {
  const timeoutMs = t.Timeout > 0 ? t.Timeout / 1e6 : DEFAULT_TIMEOUT_MS;
  const method = t.Method === '' ? 'GET' : t.Method.toUpperCase();
  const max = outputLimit(t);
  const dispatcher = dispatcherFor(t.TLSSkipVerify, !t.DisableRedirects);
  const headers = headersOf(t);
  return periodic(t.Interval / 1e6, async () => {
    const { signal, clear } = longTimeoutSignal(timeoutMs);
    try {
      const res = await request(t.HTTP, {
        method: method,
        headers,
        body: t.Body === '' ? undefined : t.Body,
        dispatcher,
        signal,
      });
      const body = await readSome(res.body, max);
      const code = res.statusCode;
      const output = `HTTP ${method} ${t.HTTP}: ${code} ${STATUS_CODES[code] ?? ''} Output: ${truncate(body, max)}`;
      report(code >= 200 && code <= 299 ? 'passing' : code === 429 ? 'warning' : 'critical', output);
    } catch (e) {
      report('critical', goError(method, t.HTTP, e, timeoutMs));
    } finally {
      clear();
    }
  });
}
