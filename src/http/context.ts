// One request: method, decoded path, lazily parsed query, token, body, and a signal that fires
// when the client goes away (blocking queries stop waiting then).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ACLToken, Authorizer } from '../acl/types.js';
import { parseJSON } from '../util/json.js';
import { HttpError, tooLarge } from './errors.js';

export class Ctx {
  readonly method: string;
  /** The decoded path, as Go's r.URL.Path. */
  readonly path: string;
  /** The path as sent, still escaped (the router decodes its parameters itself). */
  readonly rawPath: string;
  readonly rawQuery: string;
  params: Record<string, string | undefined> = {};
  /** The matched route pattern ('' when none matched). */
  route = '';
  /** performance.now() at dispatch, when request timings are kept (0 otherwise). */
  started = 0;
  /** The token's Authorizer once resolved; null with ACLs disabled (everything allowed) or on `'none'` routes. */
  authz: Authorizer | null = null;
  /** The token those rights come from (null when locally managed, such as agent_master, or unresolved). */
  aclToken: ACLToken | null = null;
  /** Resolves and checks the token again (blocking queries call it on every wake). */
  recheck: (() => void) | null = null;
  private _query: URLSearchParams | undefined;
  private _abort: AbortController | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly defaultToken: string,
  ) {
    this.method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.rawPath = q === -1 ? url : url.slice(0, q);
    this.rawQuery = q === -1 ? '' : url.slice(q + 1);
    this.path = this.rawPath.includes('%') ? safeDecode(this.rawPath) : this.rawPath;
  }

  get query(): URLSearchParams {
    return (this._query ??= new URLSearchParams(this.rawQuery));
  }

  /** True when the parameter is present, with or without a value (`?recurse`). */
  has(name: string): boolean {
    return this.rawQuery !== '' && this.query.has(name);
  }

  get(name: string): string | null {
    return this.rawQuery === '' ? null : this.query.get(name);
  }

  getAll(name: string): string[] {
    return this.rawQuery === '' ? [] : this.query.getAll(name);
  }

  /** Consul's token precedence: ?token, X-Consul-Token, Authorization: Bearer, the agent default. */
  get token(): string {
    const q = this.get('token');
    if (q) return q;
    // Read from the raw header list: asking for req.headers would build the whole headers
    // object for every request once ACLs are on (a measurable share of a KV GET).
    let consul = '';
    let auth = '';
    const raw = this.req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      if (consul === '' && name.length === 14 && name.toLowerCase() === 'x-consul-token') consul = raw[i + 1]!;
      else if (auth === '' && name.length === 13 && name.toLowerCase() === 'authorization') auth = raw[i + 1]!;
    }
    if (consul !== '') return consul;
    if (auth !== '') {
      const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
      if (m) return m[1]!.trim();
    }
    return this.defaultToken;
  }

  /** Aborts when the client disconnects before we answer. */
  get signal(): AbortSignal {
    if (!this._abort) {
      const ac = new AbortController();
      this._abort = ac;
      this.res.once('close', () => {
        if (!this.res.writableFinished) ac.abort();
      });
    }
    return this._abort.signal;
  }

  /** Reads the whole body, refusing more than `limit` bytes with 413 `tooLargeMessage(size)`. */
  async body(limit: number, tooLargeMessage: (size: number | null) => string): Promise<Buffer> {
    const declared = this.req.headers['content-length'];
    if (declared !== undefined) {
      const n = Number(declared);
      if (n > limit) {
        this.discardBody();
        throw tooLarge(tooLargeMessage(n));
      }
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of this.req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > limit) {
        this.discardBody();
        throw tooLarge(tooLargeMessage(null));
      }
      chunks.push(c);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  /** Parses a JSON body; an empty body yields `undefined`. Malformed or too deeply nested JSON → 400 like Consul. */
  async jsonBody(limit: number, prefix = 'Request decode failed'): Promise<unknown> {
    const buf = await this.body(limit, (n) => (n === null ? 'Request body too large' : `Request body(${n} bytes) too large, max size: ${limit} bytes.`));
    if (buf.length === 0) return undefined;
    try {
      return parseJSON(buf.toString('utf8'));
    } catch (e) {
      throw new HttpError(400, `${prefix}: ${(e as Error).message}`);
    }
  }

  /** Stops reading the body: what the client still sends is drained and the connection closed after the answer. */
  discardBody(): void {
    // Drain what the client still sends so the 413 reaches it before the connection closes.
    this.req.resume();
    this.res.shouldKeepAlive = false;
  }
}

function safeDecode(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}
