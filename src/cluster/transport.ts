// The agent-to-agent channel: HTTP/2 (node:http2), one multiplexed session per peer, secured as
// security.ts says. Two kinds of traffic share it:
//   - RPCs: POST /_rpc/<name> with a msgpack body, answered with msgpack (200) or a plain-text
//     error (500, Consul's message); streams (/_rpc/stream/<name>) answer a sequence of
//     length-prefixed msgpack messages until either side ends them.
//   - Forwarded HTTP API requests (/v1/…): passed as they are to the server's own handlers, so
//     blocking, consistency, ACLs and error texts come from the one implementation. Agents send
//     them over HTTP/1.1 keep-alive connections to the same port (forward-h1.ts), which cost far
//     less per request than HTTP/2 streams; /v1/ on HTTP/2 is still served (older agents).
// One port serves both: with TLS the client picks by ALPN; in plain text the first bytes tell (an
// HTTP/2 client opens with its preface, "PRI * HTTP/2.0").

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type Http2ServerRequest, type Http2ServerResponse, type OutgoingHttpHeaders } from 'node:http2';
import net from 'node:net';
import type tls from 'node:tls';
import { Packr } from 'msgpackr';
import { H1_IDLE_MS, h1Pool, needsProof, type H1Upstream } from './forward-h1.js';
import { ProofPool } from './proof-pool.js';
import type { Logger } from '../util/log.js';
import { clientTLS, isSecure, KEY_PROOF_HEADER, keyProof, proofOK, serverTLS, type ChannelSecurity } from './security.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true });
export const encodeMessage = (v: unknown): Buffer => packr.pack(v);
export const decodeMessage = (b: Buffer): unknown => packr.unpack(b);

/** Largest RPC body accepted (a catalog registration of a big node fits many times over). */
export const MAX_RPC_BODY = 8 << 20;
/** One stream message at most. */
const MAX_STREAM_MESSAGE = 4 << 20;
/** How long an RPC may take unless the caller says otherwise. */
export const DEFAULT_RPC_TIMEOUT_MS = 5000;
/** Concurrent streams per session: every blocking query through a client agent holds one. */
const MAX_STREAMS = 65_536;
/** Flow-control windows: large answers must not crawl at HTTP/2's default 64 KB window. */
const WINDOW = 8 << 20;
const SETTINGS: http2.Settings = { maxConcurrentStreams: MAX_STREAMS, initialWindowSize: WINDOW, enablePush: false };

/** An RPC that failed: a refusal by the peer (its message) or a transport failure. */
export class RpcError extends Error {
  constructor(
    message: string,
    /** The peer's answer status; 0 when it never answered. */
    readonly status = 0,
  ) {
    super(message);
  }
}

export interface Peer {
  /** The remote address of the session. */
  remote: string;
}

export type RpcHandler = (body: unknown, peer: Peer) => unknown;
/** A stream: send messages until the signal aborts (the caller went away or the server stops). */
export type StreamHandler = (body: unknown, send: (message: unknown) => boolean, signal: AbortSignal, peer: Peer) => void;
/** Forwarded HTTP API requests: node:http's objects (HTTP/2 ones stand in for them, see dispatch). */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** The start of the HTTP/2 client preface: no HTTP/1 request line begins so. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0');

export interface RpcServerOptions {
  security: ChannelSecurity;
  logger: Logger;
}

export class RpcServer {
  private readonly handlers = new Map<string, RpcHandler>();
  private readonly streamHandlers = new Map<string, StreamHandler>();
  private http: HttpHandler | null = null;
  private readonly listeners: net.Server[] = [];
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** Every accepted connection (HTTP/1.1 ones have no session), destroyed on close. */
  private readonly conns = new Set<net.Socket>();
  private readonly closing = new AbortController();

  constructor(private readonly opts: RpcServerOptions) {}

  on(name: string, fn: RpcHandler): void {
    this.handlers.set(name, fn);
  }

  onStream(name: string, fn: StreamHandler): void {
    this.streamHandlers.set(name, fn);
  }

  /** Where forwarded HTTP API requests go (servers only). */
  onHttp(fn: HttpHandler): void {
    this.http = fn;
  }

  /** Listens on host:port (0 picks one); returns the bound port. */
  async listen(host: string, port: number): Promise<number> {
    const sec = this.opts.security;
    const onRequest = (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | ServerResponse): void => {
      if (req.httpVersionMajor === 1) this.dispatchH1(req as IncomingMessage, res as ServerResponse);
      else this.dispatch(req as Http2ServerRequest, res as Http2ServerResponse);
    };
    // With TLS, clients that negotiate http/1.1 by ALPN get node:http's handling on this server.
    const h2 = isSecure(sec)
      ? http2.createSecureServer({ ...serverTLS(sec), settings: SETTINGS, maxSessionMemory: 64, allowHTTP1: true }, onRequest)
      : http2.createServer({ settings: SETTINGS, maxSessionMemory: 64 }, onRequest);
    h2.on('session', (s: http2.ServerHttp2Session) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
      s.on('error', () => undefined);
      s.setLocalWindowSize(WINDOW);
    });
    // A peer without the key fails here: one debug line, nothing else.
    h2.on('tlsClientError', (e: Error) => this.opts.logger.debug('refused a connection that failed the handshake', { error: e.message }));
    h2.on('sessionError', () => undefined);
    let srv: net.Server;
    if (isSecure(sec)) {
      // node:http's keep-alive timer on the HTTP/1.1 side (unset on an HTTP/2 server): a little
      // longer than clients keep idle connections, so a client never reuses one being closed.
      (h2 as unknown as http.Server).keepAliveTimeout = H1_IDLE_MS + 5000;
      // Many small frames in flight: Nagle's algorithm would hold each answer back.
      h2.on('connection', (sock: net.Socket) => {
        sock.setNoDelay(true);
        this.track(sock);
      });
      srv = h2;
    } else {
      const h1 = http.createServer({ keepAliveTimeout: H1_IDLE_MS + 5000 }, onRequest);
      srv = net.createServer((sock) => {
        sock.setNoDelay(true);
        this.track(sock);
        this.sniff(sock, h2, h1);
      });
    }
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ host, port, backlog: 1024 }, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    this.listeners.push(srv);
    return (srv.address() as net.AddressInfo).port;
  }

  private track(sock: net.Socket): void {
    this.conns.add(sock);
    sock.once('close', () => this.conns.delete(sock));
  }

  /** Hands a plain-text connection to HTTP/2 or HTTP/1.1 by its first bytes. */
  private sniff(sock: net.Socket, h2: http2.Http2Server | http2.Http2SecureServer, h1: http.Server): void {
    let head: Buffer = Buffer.alloc(0);
    const onData = (c: Buffer): void => {
      head = head.length === 0 ? c : Buffer.concat([head, c]);
      const n = Math.min(head.length, H2_PREFACE.length);
      const isH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && n < H2_PREFACE.length) return;
      sock.off('data', onData);
      sock.off('error', onError);
      sock.pause();
      sock.unshift(head);
      // HTTP/2 takes what is buffered with read() and then reads the socket's handle itself;
      // node:http reads it as 'data', once the socket flows again.
      (isH2 ? h2 : h1).emit('connection', sock);
      if (!isH2) sock.resume();
    };
    const onError = (): void => void sock.destroy();
    sock.on('data', onData);
    sock.on('error', onError);
  }

  /** A forwarded request over HTTP/1.1: the key proof as on HTTP/2, then the API (nothing else). */
  private dispatchH1(req: IncomingMessage, res: ServerResponse): void {
    const sec = this.opts.security;
    const socket = req.socket as tls.TLSSocket;
    if (!proofOK(sec, sec.certs && sec.key ? socket : null, req.headers[KEY_PROOF_HEADER])) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('key proof missing or wrong');
      return;
    }
    if (this.http && req.url?.startsWith('/v1/')) {
      this.http(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('');
  }

  private dispatch(req: Http2ServerRequest, res: Http2ServerResponse): void {
    const sec = this.opts.security;
    const socket = req.socket as unknown as tls.TLSSocket | null;
    if (!proofOK(sec, sec.certs && sec.key ? socket : null, req.headers[KEY_PROOF_HEADER])) {
      reply(res, 403, 'key proof missing or wrong');
      return;
    }
    const url = req.url;
    const peer: Peer = { remote: req.socket.remoteAddress ?? '' };
    if (url.startsWith('/_rpc/stream/')) {
      const fn = this.streamHandlers.get(url.slice('/_rpc/stream/'.length));
      if (!fn) return reply(res, 404, `unknown stream ${url}`);
      void readBody(req).then(
        (body) => this.runStream(fn, body, res, peer),
        (e: Error) => reply(res, 400, e.message),
      );
      return;
    }
    if (url.startsWith('/_rpc/')) {
      const fn = this.handlers.get(url.slice('/_rpc/'.length));
      if (!fn) return reply(res, 404, `rpc: can't find method ${url.slice(6)}`);
      void readBody(req)
        .then((body) => fn(body, peer))
        .then(
          (out) => {
            if (res.writableEnded || res.stream.destroyed) return;
            res.writeHead(200, { 'content-type': 'application/msgpack' });
            res.end(encodeMessage(out ?? null));
          },
          (e: unknown) => reply(res, e instanceof RpcError && e.status > 0 ? e.status : 500, e instanceof Error ? e.message : String(e)),
        );
      return;
    }
    if (this.http && url.startsWith('/v1/')) {
      // The compatibility request and response stand in for node:http's (the API reads only what
      // both have: method, url, raw headers, the body stream; writeHead, write, end, close).
      this.http(req as unknown as IncomingMessage, res as unknown as ServerResponse);
      return;
    }
    reply(res, 404, '');
  }

  private runStream(fn: StreamHandler, body: unknown, res: Http2ServerResponse, peer: Peer): void {
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    res.stream.once('close', stop);
    this.closing.signal.addEventListener('abort', stop, { once: true });
    ac.signal.addEventListener('abort', () => {
      this.closing.signal.removeEventListener('abort', stop);
      if (!res.stream.destroyed) res.end();
    });
    res.writeHead(200, { 'content-type': 'application/x-tribune-stream' });
    const send = (m: unknown): boolean => {
      if (res.stream.destroyed || res.writableEnded) return false;
      const payload = encodeMessage(m);
      const head = Buffer.allocUnsafe(4);
      head.writeUInt32BE(payload.length, 0);
      res.write(head);
      return res.write(payload);
    };
    try {
      fn(body, send, ac.signal, peer);
    } catch (e) {
      this.opts.logger.error('stream failed', { error: (e as Error).message });
      ac.abort();
    }
  }

  async close(): Promise<void> {
    this.closing.abort();
    for (const l of this.listeners) l.close();
    for (const s of this.sessions) s.destroy();
    for (const s of this.conns) s.destroy();
    this.listeners.length = 0;
  }
}

function reply(res: Http2ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.stream.destroyed) {
    res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

async function readBody(req: Http2ServerRequest): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_RPC_BODY) throw new RpcError('rpc body too large', 413);
    chunks.push(c);
  }
  if (size === 0) return null;
  try {
    return decodeMessage(Buffer.concat(chunks, size));
  } catch {
    throw new RpcError('rpc body is not valid msgpack', 400);
  }
}

/** host:port as Go prints it. */
export function joinHostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** One peer (host:port), with a session opened on first use and again after it breaks. */
export class RpcClient {
  private session: ClientHttp2Session | null = null;
  private h1: H1Upstream | null = null;

  constructor(
    readonly addr: string,
    private readonly security: ChannelSecurity,
    private readonly toServer = true,
  ) {}

  private connect(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const sec = this.security;
    const scheme = isSecure(sec) ? 'https' : 'http';
    const s = http2.connect(`${scheme}://${this.addr}`, {
      ...(isSecure(sec) ? clientTLS(sec, this.toServer) : {}),
      settings: SETTINGS,
      maxSessionMemory: 64,
      // Nagle off on our side too (the session's own socket cannot be touched once it has it).
      ...(isSecure(sec) ? {} : { createConnection: (url: URL) => net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), noDelay: true }) }),
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.session === s) this.session = null;
    });
    s.on('goaway', () => {
      if (this.session === s) this.session = null;
    });
    s.on('connect', () => s.setLocalWindowSize(WINDOW));
    s.unref();
    this.session = s;
    return s;
  }

  /** Opens a raw stream (an RPC's); errors arrive on the stream. */
  request(headers: OutgoingHttpHeaders, endStream = false): ClientHttp2Stream {
    const s = this.connect();
    const sec = this.security;
    if (sec.certs && sec.key) headers[KEY_PROOF_HEADER] = this.proof(s);
    return s.request(headers, { endStream });
  }

  private proof(s: ClientHttp2Session): string {
    // Before the handshake there is no keying material yet; the request waits for 'connect'.
    const sock = s.socket as unknown as tls.TLSSocket;
    try {
      return keyProof(this.security.key!, sock);
    } catch {
      return '';
    }
  }

  /** Calls an RPC; rejects with RpcError (the peer's message, or what broke). */
  async call<T>(name: string, body: unknown, timeoutMs = DEFAULT_RPC_TIMEOUT_MS): Promise<T> {
    if (this.security.certs && this.security.key) await this.ready();
    return new Promise<T>((resolve, reject) => {
      let stream: ClientHttp2Stream;
      try {
        stream = this.request({ ':method': 'POST', ':path': `/_rpc/${name}`, 'content-type': 'application/msgpack' });
      } catch (e) {
        reject(new RpcError(transportMessage(this.addr, e)));
        return;
      }
      const timer = setTimeout(() => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        // A peer that does not answer in time is treated as gone: the next call reconnects.
        this.drop();
        reject(new RpcError(`rpc error making call: ${name}: i/o timeout (${this.addr})`));
      }, timeoutMs);
      timer.unref();
      let status = 0;
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e) => {
        clearTimeout(timer);
        reject(new RpcError(transportMessage(this.addr, e)));
      });
      stream.on('end', () => {
        clearTimeout(timer);
        const buf = Buffer.concat(chunks);
        if (status === 200) {
          try {
            resolve(decodeMessage(buf) as T);
          } catch {
            reject(new RpcError(`rpc error: undecodable answer from ${this.addr}`, status));
          }
        } else reject(new RpcError(buf.toString('utf8') || `rpc error: status ${status} from ${this.addr}`, status));
      });
      stream.end(encodeMessage(body ?? null));
    });
  }

  /**
   * Opens a stream RPC; `onMessage` gets each message. Resolves when the stream ends (the peer
   * stopped, or `signal` aborted it); rejects when it could not be opened or broke.
   */
  async stream(name: string, body: unknown, onMessage: (m: unknown) => void, signal: AbortSignal): Promise<void> {
    if (this.security.certs && this.security.key) await this.ready();
    return new Promise<void>((resolve, reject) => {
      const stream = this.request({ ':method': 'POST', ':path': `/_rpc/stream/${name}`, 'content-type': 'application/msgpack' });
      const abort = (): void => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
      };
      signal.addEventListener('abort', abort, { once: true });
      let status = 0;
      let buf: Buffer = Buffer.alloc(0);
      const errText: Buffer[] = [];
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (c: Buffer) => {
        if (status !== 200) {
          errText.push(c);
          return;
        }
        buf = buf.length === 0 ? c : Buffer.concat([buf, c]);
        while (buf.length >= 4) {
          const n = buf.readUInt32BE(0);
          if (n > MAX_STREAM_MESSAGE) {
            stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
            return;
          }
          if (buf.length < 4 + n) break;
          const m = buf.subarray(4, 4 + n);
          buf = buf.subarray(4 + n);
          try {
            onMessage(decodeMessage(m));
          } catch {
            /* one bad message does not end the stream */
          }
        }
      });
      const done = (e?: Error): void => {
        signal.removeEventListener('abort', abort);
        if (e && !signal.aborted) reject(new RpcError(transportMessage(this.addr, e)));
        else if (status !== 0 && status !== 200) reject(new RpcError(Buffer.concat(errText).toString('utf8'), status));
        else resolve();
      };
      stream.on('error', (e: Error) => done(e));
      stream.on('close', () => done());
      stream.end(encodeMessage(body ?? null));
    });
  }

  /** Waits for the session's handshake (the key proof needs its keying material). */
  ready(): Promise<void> {
    const s = this.connect();
    if (!s.connecting) return Promise.resolve();
    return new Promise((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('error', (e) => reject(new RpcError(transportMessage(this.addr, e))));
    });
  }

  /** HTTP/1.1 connections for forwarded HTTP API requests (forward-h1.ts). */
  http1(): H1Upstream {
    this.h1 ??= needsProof(this.security) ? new ProofPool(this.addr, this.security, this.toServer) : h1Pool(this.addr, this.security, this.toServer);
    return this.h1;
  }

  /** Forgets the session (it is reopened on the next call). */
  drop(): void {
    const s = this.session;
    this.session = null;
    s?.destroy();
  }

  close(): void {
    this.drop();
    void this.h1?.destroy().catch(() => undefined);
    this.h1 = null;
  }
}

/** A transport failure as Consul words it ("dial tcp 10.0.0.1:8300: connect: connection refused"). */
export function transportMessage(addr: string, e: unknown): string {
  let err = e as NodeJS.ErrnoException;
  // A stream cancelled because its session never connected carries the socket's error as cause.
  if (err.cause instanceof Error) err = err.cause;
  if (err.code === 'ECONNREFUSED') return `rpc error making call: dial tcp ${addr}: connect: connection refused`;
  if (err.code === 'EHOSTUNREACH') return `rpc error making call: dial tcp ${addr}: connect: no route to host`;
  if (err.code === 'ETIMEDOUT') return `rpc error making call: dial tcp ${addr}: i/o timeout`;
  if (err.code === 'ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC' || /SSL|TLS|handshake|bad record mac|decryption failed/i.test(err.message ?? '')) return `rpc error making call: ${addr}: remote error: tls: handshake failure`;
  return `rpc error making call: ${addr}: ${err.message ?? String(e)}`;
}
