// Outbound HTTP for auth methods (JWKS, OIDC discovery, Kubernetes TokenReview), with failures
// worded as Go's net/http words them ("Get \"<url>\": dial tcp <addr>: connect: connection
// refused"), since Consul passes those texts through to the client.

import { Agent, fetch, type Dispatcher } from 'undici';

const TIMEOUT_MS = 10_000;

const agents = new Map<string, Agent>();
/** One connection pool per CA bundle; the default pool (system CAs) when none. */
function dispatcher(caCert: string): Dispatcher | undefined {
  if (caCert === '') return undefined;
  let a = agents.get(caCert);
  if (!a) {
    a = new Agent({ connect: { ca: caCert } });
    agents.set(caCert, a);
  }
  return a;
}

/** Go's text for a failed request (the *url.Error around the dial or TLS error). */
export function goRequestError(method: string, url: string, e: unknown): Error {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const verb = method[0] + method.slice(1).toLowerCase();
  let detail = cause?.message ?? (e as Error).message;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return new Error(`${verb} ${JSON.stringify(url)}: unsupported protocol scheme ""`);
  }
  const addr = `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  if (cause?.code === 'ECONNREFUSED') detail = `dial tcp ${addr}: connect: connection refused`;
  else if (cause?.code === 'ENOTFOUND') detail = `dial tcp: lookup ${addr.replace(/:\d+$/, '')}: no such host`;
  else if (cause?.code === 'UND_ERR_CONNECT_TIMEOUT' || (e as Error).name === 'TimeoutError') detail = 'context deadline exceeded';
  else if (cause?.code?.startsWith('ERR_TLS') || cause?.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || cause?.code === 'SELF_SIGNED_CERT_IN_CHAIN') detail = 'x509: certificate signed by unknown authority';
  return new Error(`${verb} ${JSON.stringify(url)}: ${detail}`);
}

export interface GoResponse {
  status: number;
  statusText: string;
  body: string;
}

/** One request; throws Go's request error when no response arrives. */
export async function goRequest(method: 'GET' | 'POST', url: string, caCert: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<GoResponse> {
  try {
    const res = await fetch(url, { method, headers: init.headers, body: init.body, dispatcher: dispatcher(caCert), signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'follow' });
    return { status: res.status, statusText: res.statusText, body: await res.text() };
  } catch (e) {
    throw goRequestError(method, url, e);
  }
}

/** GET of a JSON document, errors prefixed as go-oidc prefixes them. */
export async function fetchJSON(url: string, caCert: string, prefix: string): Promise<unknown> {
  let res: GoResponse;
  try {
    res = await goRequest('GET', url, caCert);
  } catch (e) {
    throw new Error(`${prefix} ${(e as Error).message}`, { cause: e });
  }
  if (res.status !== 200) throw new Error(`${prefix}: ${res.status} ${res.statusText} ${res.body}`);
  try {
    return JSON.parse(res.body) as unknown;
  } catch (e) {
    throw new Error(`${prefix.replace(/ failed$/, '')}: failed to decode: ${(e as Error).message}`, { cause: e });
  }
}
