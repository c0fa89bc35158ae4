// The HTTP side of the CLI commands: Consul's -http-addr / -token / -token-file / -datacenter
// flags and the CONSUL_HTTP_ADDR / CONSUL_HTTP_TOKEN / CONSUL_HTTP_TOKEN_FILE environment,
// requests through undici.

import fs from 'node:fs';
import { Agent, type Dispatcher, request } from 'undici';
import type { FlagDef, FlagValues } from './flags.js';

export const HTTP_FLAGS: Record<string, FlagDef> = {
  'http-addr': { kind: 'string', help: 'The address and port of the agent HTTP API (or CONSUL_HTTP_ADDR). Default 127.0.0.1:8500.' },
  token: { kind: 'string', help: 'ACL token to use in the request (or CONSUL_HTTP_TOKEN).' },
  'token-file': { kind: 'string', help: 'File containing the ACL token (or CONSUL_HTTP_TOKEN_FILE).' },
  datacenter: { kind: 'string', help: 'Name of the datacenter to query. Defaults to the agent’s.' },
  stale: { kind: 'bool', help: 'Permit any server to answer a read.' },
};

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class ApiClient {
  private readonly base: string;
  private token: string;
  private readonly dc: string;
  private readonly stale: boolean;
  /** For `unix://<path>` addresses: every request goes over that socket. */
  private readonly dispatcher: Dispatcher | undefined;

  constructor(flags: FlagValues, env: NodeJS.ProcessEnv = process.env) {
    let addr = (flags['http-addr'] as string | undefined) ?? env.CONSUL_HTTP_ADDR ?? '127.0.0.1:8500';
    if (addr.startsWith('unix://')) {
      this.dispatcher = new Agent({ connect: { socketPath: addr.slice('unix://'.length) } });
      addr = 'http://localhost';
    }
    if (!/^https?:\/\//.test(addr)) addr = `${env.CONSUL_HTTP_SSL === 'true' ? 'https' : 'http'}://${addr}`;
    this.base = addr.replace(/\/$/, '');
    this.token = (flags.token as string | undefined) ?? env.CONSUL_HTTP_TOKEN ?? '';
    // As Consul's api.Config: a token (flag or environment) wins over any token file.
    const file = (flags['token-file'] as string | undefined) ?? env.CONSUL_HTTP_TOKEN_FILE ?? '';
    if (this.token === '' && file !== '') {
      try {
        this.token = fs.readFileSync(file, 'utf8').trim();
      } catch (e) {
        throw new ApiError(0, `Error connecting to Consul agent: Error loading token file: ${(e as Error).message}`);
      }
    }
    this.dc = (flags.datacenter as string | undefined) ?? '';
    this.stale = flags.stale === true;
  }

  /** This client with another token ('' for none): login, or a secret read with -token-secret. */
  withToken(token: string): ApiClient {
    const c = Object.create(ApiClient.prototype) as ApiClient;
    Object.assign(c, this);
    c.token = token;
    return c;
  }

  /** The URL of `path` with the -datacenter flag and `query` (true: a bare flag; false/undefined: left out). */
  private url(path: string, query: Record<string, string | number | boolean | undefined>, stale: boolean): string {
    const params = new URLSearchParams();
    if (this.dc) params.set('dc', this.dc);
    if (stale) params.set('stale', '');
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === false) continue;
      params.set(k, v === true ? '' : String(v));
    }
    const qs = params.toString().replace(/=(?=&|$)/g, '');
    return `${this.base}${path}${qs ? `?${qs}` : ''}`;
  }

  private async send(method: string, url: string, body?: string | Buffer): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = {};
    if (this.token) headers['X-Consul-Token'] = this.token;
    try {
      return await request(url, { method: method as 'GET', headers, body, ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}) });
    } catch (e) {
      throw new ApiError(0, `Error connecting to the agent: ${(e as Error).message}`);
    }
  }

  async call(method: string, path: string, query: Record<string, string | number | boolean | undefined> = {}, body?: string | Buffer): Promise<ApiResponse> {
    const res = await this.send(method, this.url(path, query, this.stale && method === 'GET'), body);
    const buf = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, headers: res.headers, body: buf, text: buf.toString('utf8') };
  }

  /** A streaming GET (monitor): the status and the body as it arrives. */
  async stream(path: string, query: Record<string, string>): Promise<{ status: number; body: AsyncIterable<Buffer>; text(): Promise<string> }> {
    const res = await this.send('GET', this.url(path, query, false));
    const body = res.body;
    return { status: res.statusCode, body, text: () => body.text() };
  }

  /** A call that must succeed (2xx); otherwise an ApiError with Consul's "Unexpected response code". */
  async ok(method: string, path: string, query: Record<string, string | number | boolean | undefined> = {}, body?: string | Buffer): Promise<ApiResponse> {
    const r = await this.call(method, path, query, body);
    if (r.status < 200 || r.status > 299) throw new ApiError(r.status, `Unexpected response code: ${r.status} (${r.text})`);
    return r;
  }

  async json<T>(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
    return JSON.parse((await this.ok('GET', path, query)).text) as T;
  }
}

/** A key as a URL path: each segment escaped, slashes kept. */
export const keyPath = (key: string): string => key.split('/').map(encodeURIComponent).join('/');

/** Columns separated by two spaces, left-aligned (Consul's columnize output). */
export function columns(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}
