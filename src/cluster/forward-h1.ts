// Forwarded HTTP API requests over HTTP/1.1 keep-alive connections to a server (undici), on the
// same port and secured as the HTTP/2 channel (security.ts). Cheaper than an HTTP/2 stream on both
// ends: the server hands a real IncomingMessage/ServerResponse to its HttpApi, and neither side
// runs nghttp2 and the compatibility layer per request. One request per connection at a time, so
// a client going away destroys that connection, which ends the server's wait as a cancelled
// HTTP/2 stream did. RPCs stay on HTTP/2.
//
// In certificate mode with `encrypt` every request carries a proof of the key over its own TLS
// session, which a pool that picks the socket later cannot write: proof-pool.ts serves that mode.

import net from 'node:net';
import tls from 'node:tls';
import { Pool, type Dispatcher } from 'undici';
import type { Ctx } from '../http/context.js';
import { clientTLS, isSecure, type ChannelSecurity } from './security.js';

/** Headers that belong to one hop (the server's own hop headers are its business). */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'te', 'trailer', 'x-consul-token', 'authorization', 'expect']);
/** How long an idle connection to a server is kept (the server keeps it a little longer). */
export const H1_IDLE_MS = 20_000;

/** Where forwarded requests to one server go: an undici Pool, or proof-pool.ts's. */
export type H1Upstream = Pick<Dispatcher, 'dispatch'> & { destroy(): Promise<void> };

/** Whether requests need a key proof per TLS session (then h1Pool does not do). */
export const needsProof = (sec: ChannelSecurity): boolean => sec.certs !== null && sec.key !== null;

/** A pool of HTTP/1.1 connections to one server (host:port), each secured as the channel is. */
export function h1Pool(addr: string, sec: ChannelSecurity, toServer: boolean): Pool {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(addr.slice(i + 1));
  const secure = isSecure(sec);
  return new Pool(`http://${addr}`, {
    pipelining: 1,
    // Blocking queries wait up to 10 minutes (plus jitter) before the first byte of the answer.
    headersTimeout: 0,
    bodyTimeout: 0,
    keepAliveTimeout: H1_IDLE_MS,
    keepAliveMaxTimeout: H1_IDLE_MS,
    connect: (_opts, cb) => {
      const s = secure ? tls.connect({ host, port, ...clientTLS(sec, toServer), ALPNProtocols: ['http/1.1'] }) : net.connect({ host, port });
      // Small answers in flight: Nagle's algorithm would hold each one back.
      s.setNoDelay(true);
      let done = false;
      s.once(secure ? 'secureConnect' : 'connect', () => {
        if (!done) cb(null, s);
        done = true;
      });
      s.once('error', (e: Error) => {
        if (!done) cb(e, null);
        done = true;
      });
    },
  });
}

/** The request's headers as one flat list, the caller's token as this agent resolved it. */
function requestHeaders(ctx: Ctx, token: string): string[] {
  const out: string[] = [];
  const raw = ctx.req.rawHeaders;
  let forwardedFor = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP.has(name)) continue;
    if (name === 'x-forwarded-for') forwardedFor = true;
    out.push(name, raw[i + 1]!);
  }
  // Prepared queries' near=_ip needs the caller's address, not this agent's.
  if (!forwardedFor) out.push('x-forwarded-for', (ctx.req.socket?.remoteAddress ?? '').replace(/^::ffff:/, ''));
  if (token !== '') out.push('x-consul-token', token);
  return out;
}

/**
 * One attempt over `pool`: 'done' once answered (or cut off after answering), else the error from
 * before any answer (the caller may try the next server).
 */
export function forwardOnceH1(ctx: Ctx, pool: H1Upstream, token: string, body: boolean): Promise<'done' | Error> {
  return new Promise((resolve) => {
    const res = ctx.res;
    let answered = false;
    let settled = false;
    let controller: Dispatcher.DispatchController | null = null;
    const gone = new Error('the client went away');
    const settle = (v: 'done' | Error): void => {
      if (settled) return;
      settled = true;
      res.off('close', cancel);
      resolve(v);
    };
    // The client went away: destroying the upstream request (its connection) ends the server's wait.
    const cancel = (): void => {
      if (res.writableFinished) return;
      if (controller) controller.abort(gone);
      settle('done');
    };
    res.once('close', cancel);
    pool.dispatch(
      { path: ctx.req.url ?? '/', method: ctx.method, headers: requestHeaders(ctx, token), body: body ? ctx.req : null },
      {
        onRequestStart(c) {
          controller = c;
          if (res.destroyed) c.abort(gone);
        },
        onResponseStart(_c, status, headers) {
          if (status < 200) return;
          answered = true;
          const out: Record<string, string | string[]> = {};
          for (const k in headers) {
            const v = headers[k];
            if (v !== undefined && k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') out[k] = v;
          }
          res.writeHead(status, out);
        },
        onResponseData(c, chunk) {
          if (!res.write(chunk)) {
            c.pause();
            res.once('drain', () => c.resume());
          }
        },
        onResponseEnd() {
          res.end();
          settle('done');
        },
        onResponseError(_c, e) {
          if (settled) return;
          if (!answered) {
            settle(e);
            return;
          }
          res.destroy();
          settle('done');
        },
      },
    );
  });
}
