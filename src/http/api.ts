// The HTTP API: node:http listeners on the client addresses, routing, and turning handler replies
// and errors into Consul-shaped responses.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { LocalAgent } from '../agent/local-agent.js';
import type { AgentTokens } from '../agent/tokens.js';
import type { RuntimeConfig } from '../config/types.js';
import type { Server } from '../server/server.js';
import { ApplyError } from '../state/errors.js';
import type { Logger } from '../util/log.js';
import { Ctx } from './context.js';
import { HttpError } from './errors.js';
import type { Reply } from './reply.js';
import { Router, type Found } from './router.js';
import { authorize, type TokenResolver } from './acl.js';
import { AgentCacheMarks } from './agent-cache.js';
import { clearSocketPath, setSocketPermissions } from '../util/unix-socket.js';
import type { Gauge, Metrics } from '../telemetry/metrics.js';
import type { ClusterView } from '../cluster/view.js';
import type { UserEvents } from '../events/user-events.js';

/** What every agent's HTTP API has, server or client: the agent-local routes need no more. */
export interface AgentDeps {
  config: RuntimeConfig;
  logger: Logger;
  /** The agent's local services and checks (/v1/agent/*); absent where no agent runs. */
  agent?: LocalAgent;
  /** Asks the agent to leave and shut down (PUT /v1/agent/leave), after the reply is sent. */
  leave?: () => void;
  /** Reloads the agent's configuration (PUT /v1/agent/reload). */
  reload?: () => Promise<void>;
  /** Request timings go here (consul.api.http); served by /v1/agent/metrics. */
  metrics?: Metrics;
  /** Gauges read at scrape time. */
  gauges?: () => Gauge[];
  /** The agent's own tokens (PUT /v1/agent/token/*). */
  tokens?: AgentTokens;
  /** Token resolution, when ACLs are enabled (required then). */
  acl?: { resolver: TokenResolver; defaultToken: () => string };
  /** Aborted when the HTTP API starts closing: streaming answers (monitor) end then. */
  closing?: AbortSignal;
  /** This agent's user events (fire, list). */
  events?: UserEvents;
  /** This agent's view of its cluster (members, leader, servers). */
  cluster?: ClusterView;
  /**
   * A client agent's forwarder: every request no local route answers goes to a server, with the
   * token this agent resolved for it (so its default token applies).
   */
  forward?: (ctx: Ctx, token: string) => Promise<null>;
  /** A server's consistency gate for GETs of server routes (read.ts readBarrier); null: none to pass. */
  readBarrier?: (ctx: Ctx) => Promise<void> | null;
  /**
   * Forwards a request whose ?dc names another datacenter to a server there (a client agent: to
   * its own server, which forwards it on). null: not a datacenter this agent can forward to; the
   * route then answers itself (and an unknown ?dc gets "No path to datacenter").
   */
  forwardDC?: (ctx: Ctx, dc: string, token: string) => Promise<null> | null;
}

/**
 * Routes answered by this agent whatever ?dc says (Consul's agent endpoints, the event list, the
 * datacenter lists): every other /v1 route with another ?dc runs in that datacenter. Event fire
 * is forwarded too, as Consul's agent sends the fire RPC to that datacenter's servers.
 */
const DC_LOCAL = /^\/v1\/(?:agent\/|event\/list|catalog\/datacenters$|coordinate\/datacenters$|debug\/)/;

function forwardsToDC(path: string): boolean {
  return path.startsWith('/v1/') && !DC_LOCAL.test(path);
}

/** The server routes: they read and write the state through the agent's own server. */
export interface ApiDeps extends AgentDeps {
  server: Server;
}

/** One endpoint group (kv, txn, status, …) registers its routes here. */
export type EndpointGroup<D extends AgentDeps = ApiDeps> = (router: Router, deps: D) => void;

const TEXT_UTF8 = 'text/plain; charset=utf-8';

export class HttpApi<D extends AgentDeps = ApiDeps> {
  readonly router = new Router();
  private readonly servers: http.Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly perClient = new Map<string, number>();
  private readonly logger: Logger;
  private inFlight = 0;
  private idle: (() => void) | null = null;

  private readonly deps: D;
  /** null with ACLs disabled: no token is resolved at all then. */
  private readonly acl: AgentDeps['acl'] | null;
  private readonly closing = new AbortController();
  private readonly cacheMarks = new AgentCacheMarks();

  constructor(deps: D, groups: EndpointGroup<D>[]) {
    this.deps = { ...deps, closing: this.closing.signal };
    this.logger = deps.logger.named('http');
    if (deps.config.acl.enabled && !deps.acl) throw new Error('acl.enabled needs a token resolver');
    this.acl = deps.config.acl.enabled ? (deps.acl ?? null) : null;
    for (const g of groups) g(this.router, this.deps);
  }

  /** Binds every client address (or addresses.http) on the HTTP port; returns the bound addresses (host:port, or unix://path). */
  async listen(): Promise<string[]> {
    const { config } = this.deps;
    if (config.ports.http < 0) return [];
    const bound: string[] = [];
    let port = config.ports.http;
    for (const host of config.httpAddrs ?? config.clientAddrs) {
      const srv = http.createServer({ keepAlive: true }, (req, res) => this.dispatch(req, res));
      srv.keepAliveTimeout = 65_000;
      srv.headersTimeout = 70_000;
      srv.requestTimeout = 0; // blocking queries may legitimately take 10 minutes
      srv.on('connection', (s: Socket) => this.admit(s));
      const socketPath = host.startsWith('unix://') ? host.slice('unix://'.length) : null;
      if (socketPath !== null) clearSocketPath(socketPath);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        // A deep accept queue, as Go's listeners use (somaxconn): bursts of thousands of
        // watchers connecting at once must not be reset.
        srv.listen(socketPath !== null ? { path: socketPath, backlog: 4096 } : { port, host, backlog: 4096 }, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      this.servers.push(srv);
      if (socketPath !== null) {
        setSocketPermissions(socketPath, config.unixSockets);
        bound.push(host);
        continue;
      }
      // With port 0 the first listener picks the port; the others share it.
      port = (srv.address() as AddressInfo).port;
      bound.push(`${host.includes(':') ? `[${host}]` : host}:${port}`);
    }
    return bound;
  }

  /** Enforces limits.http_max_conns_per_client, answering 429 as Consul does beyond it. */
  private admit(s: Socket): void {
    const ip = s.remoteAddress ?? '';
    const n = (this.perClient.get(ip) ?? 0) + 1;
    const max = this.deps.config.limits.httpMaxConnsPerClient;
    if (max > 0 && n > max) {
      s.end('HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    this.perClient.set(ip, n);
    this.sockets.add(s);
    s.once('close', () => {
      this.sockets.delete(s);
      const left = (this.perClient.get(ip) ?? 1) - 1;
      if (left <= 0) this.perClient.delete(ip);
      else this.perClient.set(ip, left);
    });
  }

  /**
   * Answers one request that arrived some other way than the listeners (a client agent's
   * forwarded request over the agent channel, whose HTTP/2 compatibility objects stand in).
   */
  serve(req: IncomingMessage, res: ServerResponse): void {
    this.dispatch(req, res);
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const ctx = new Ctx(req, res, '');
    this.inFlight++;
    if (this.deps.metrics) ctx.started = performance.now();
    let found: Found | null;
    try {
      const dcFwd = this.deps.forwardDC;
      if (dcFwd) {
        const c = this.deps.config;
        // ?dc, else for the ACL routes on a server outside the primary datacenter, the primary:
        // tokens, policies and roles live there (Consul forwards ACL requests to it).
        const dc = (ctx.rawQuery !== '' ? ctx.get('dc') : null) || (c.server && c.acl.enabled && c.primaryDatacenter !== c.datacenter && ctx.rawPath.startsWith('/v1/acl/') ? c.primaryDatacenter : null);
        if (dc && dc !== c.datacenter && forwardsToDC(ctx.rawPath)) {
          // Before ACLs here: the other datacenter resolves the caller's token itself.
          const fwd = dcFwd(ctx, dc, this.acl ? ctx.token || this.acl.defaultToken() : ctx.token);
          if (fwd) {
            this.settle(ctx, () => fwd);
            return;
          }
        }
      }
      found = this.router.find(ctx.method, ctx.rawPath);
    } catch (e) {
      this.fail(ctx, e);
      return;
    }
    if (!found) {
      const fwd = this.deps.forward;
      if (fwd && ctx.rawPath.startsWith('/v1/')) this.settle(ctx, () => fwd(ctx, this.acl ? ctx.token || this.acl.defaultToken() : ctx.token));
      else this.finish(ctx, { status: 404 });
      return;
    }
    ctx.params = found.params;
    ctx.route = found.pattern;
    const { acl } = this;
    const endpoint = found.endpoint;
    const barrier = this.deps.readBarrier;
    const run = (): Promise<Reply | null> | Reply | null => {
      if (acl) authorize(ctx, endpoint.acl, acl.resolver, acl.defaultToken);
      // A server on etcd first catches up with what etcd had committed (see read.ts).
      const gate = barrier && ctx.method === 'GET' ? barrier(ctx) : null;
      return gate ? gate.then(() => endpoint.handler(ctx)) : endpoint.handler(ctx);
    };
    // A client agent resolves tokens through its servers: on a cache miss, wait for that first.
    const pending = acl && endpoint.acl !== 'none' ? (acl.resolver.prepare?.(ctx.token || acl.defaultToken()) ?? null) : null;
    if (pending) {
      pending.then(
        () => this.settle(ctx, run),
        () => this.settle(ctx, run),
      );
    } else this.settle(ctx, run);
  }

  /** Runs a handler and sends what it answers (or its error). */
  private settle(ctx: Ctx, run: () => Promise<Reply | null> | Reply | null): void {
    let out: Promise<Reply | null> | Reply | null;
    try {
      out = run();
    } catch (e) {
      this.fail(ctx, e);
      return;
    }
    if (out instanceof Promise) {
      out.then(
        (reply) => this.finish(ctx, reply),
        (e: unknown) => this.fail(ctx, e),
      );
    } else this.finish(ctx, out);
  }

  private fail(ctx: Ctx, e: unknown): void {
    if (e instanceof HttpError) {
      this.finish(ctx, { status: e.status, body: e.message, contentType: TEXT_UTF8, headers: e.headers });
      return;
    }
    const msg = e instanceof Error ? e.message : String(e);
    // A refused command is the client's problem (Consul answers 500 with its reason); anything
    // else is ours and worth a log line.
    if (!(e instanceof ApplyError)) this.logger.error('request failed', { method: ctx.method, path: ctx.path, error: msg });
    this.finish(ctx, { status: 500, body: msg, contentType: TEXT_UTF8 });
  }

  /** Sends the reply and settles the request's accounting; never throws (it runs in promise callbacks). */
  private finish(ctx: Ctx, reply: Reply | null): void {
    try {
      if (reply && !ctx.res.destroyed) {
        const marks = this.cacheMarks.headers(ctx, reply.status);
        // A copy: one encoded reply may be shared by many requests.
        this.send(ctx, marks ? { ...reply, headers: { ...reply.headers, ...marks } } : reply);
      }
      else if (!ctx.res.writableEnded) ctx.res.destroy();
    } finally {
      // Timed here rather than on 'finish': no listener per request on the hot path.
      if (ctx.started > 0) {
        const { method, route } = ctx;
        this.deps.metrics?.sampleKeyed(method + route, 'consul.api.http', () => ({ method, path: route }), performance.now() - ctx.started);
      }
      this.inFlight--;
      if (this.inFlight === 0 && this.idle) this.idle();
    }
  }

  /** Writes a reply; if encoding or writing it fails, the request alone gets a 500 (or is cut off). */
  private send(ctx: Ctx, reply: Reply): void {
    try {
      write(ctx, reply);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.logger.error('reply failed', { method: ctx.method, path: ctx.path, error: msg });
      try {
        if (ctx.res.headersSent) ctx.res.destroy();
        else write(ctx, { status: 500, body: `failed to write the reply: ${msg}`, contentType: TEXT_UTF8 });
      } catch {
        ctx.res.destroy();
      }
    }
  }

  /** Stops accepting, lets in-flight writes finish (bounded), then closes every connection. */
  async close(graceMs = 5000): Promise<void> {
    this.closing.abort();
    for (const s of this.servers) s.close();
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, graceMs);
        this.idle = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    for (const s of this.sockets) s.destroy();
    this.servers.length = 0;
  }
}

// ?pretty forms of shared encoded answers (Buffers, see ResultCache), made once per answer
// rather than parsed and re-encoded for each of the watchers it is shared by.
const prettyShared = new WeakMap<Buffer, Buffer>();

function prettyText(text: string | Buffer): string | Buffer {
  if (typeof text === 'string') return JSON.stringify(JSON.parse(text) as unknown, null, 4) + '\n';
  let p = prettyShared.get(text);
  if (!p) {
    p = Buffer.from(JSON.stringify(JSON.parse(text.toString()) as unknown, null, 4) + '\n', 'utf8');
    prettyShared.set(text, p);
  }
  return p;
}

function write(ctx: Ctx, reply: Reply): void {
  // Reply header objects are fresh per reply, so they are extended in place: copying them with a
  // spread turns them into slow dictionary objects that cost ~25% of GET throughput in writeHead.
  const headers: Record<string, string | number> = reply.headers ?? {};
  let body: string | Buffer | undefined;
  if (reply.jsonText !== undefined || reply.json !== undefined) {
    // The substring test first: URLSearchParams.has is a measurable cost on every answer of a fan-out.
    const pretty = ctx.rawQuery.includes('pretty') && ctx.has('pretty');
    if (pretty) body = reply.jsonText !== undefined ? prettyText(reply.jsonText) : JSON.stringify(reply.json, null, 4) + '\n';
    else body = reply.jsonText ?? JSON.stringify(reply.json);
    headers['Content-Type'] = 'application/json';
  } else if (reply.body !== undefined) {
    body = reply.body;
    if (reply.contentType) headers['Content-Type'] = reply.contentType;
  }
  if (body !== undefined) headers['Content-Length'] = Buffer.byteLength(body);
  else headers['Content-Length'] = 0;
  ctx.res.writeHead(reply.status, headers);
  ctx.res.end(body);
}
