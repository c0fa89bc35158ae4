// Forwarding one HTTP API request to a server over the agent channel, as it came (method, path,
// query, headers, body), with the caller's token resolved as this agent resolves it (so a client
// agent's default token applies). The answer is streamed back unchanged: status, headers (the
// X-Consul-* ones included) and body, so a blocking query through an agent behaves exactly as one
// sent to the server. When the client goes away, the forwarded stream is cancelled too, which ends
// the server's wait.

import http2, { type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import type { Ctx } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { forwardOnceH1 } from './forward-h1.js';
import type { ServerPool } from './pool.js';
import { transportMessage } from './transport.js';

/** Headers that belong to one hop, or that HTTP/2 forbids. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'te', 'trailer', 'x-consul-token', 'authorization']);

export const NO_SERVERS = 'No known Consul servers';

function requestHeaders(ctx: Ctx, token: string): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = { ':method': ctx.method, ':path': ctx.req.url ?? '/' };
  const raw = ctx.req.rawHeaders;
  let forwardedFor = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP.has(name) || name.startsWith(':')) continue;
    if (name === 'x-forwarded-for') forwardedFor = true;
    const prev = h[name];
    h[name] = prev === undefined ? raw[i + 1]! : `${String(prev)}, ${raw[i + 1]!}`;
  }
  // Prepared queries' near=_ip needs the caller's address, not this agent's.
  if (!forwardedFor) h['x-forwarded-for'] = (ctx.req.socket?.remoteAddress ?? '').replace(/^::ffff:/, '');
  if (token !== '') h['x-consul-token'] = token;
  return h;
}

/** Whether the request has a body to send (a GET with none can be retried on another server). */
function hasBody(ctx: Ctx): boolean {
  const h = ctx.req.headers;
  return (h['content-length'] !== undefined && h['content-length'] !== '0') || h['transfer-encoding'] !== undefined;
}

/**
 * Sends the request to the pool's current server and streams the answer into ctx.res. Resolves
 * null once the answer is written (HttpApi has nothing more to send). A server that cannot be
 * reached before it answers is skipped for the next one when the request has no body.
 */
export async function forwardRequest(ctx: Ctx, pool: ServerPool, token: string): Promise<null> {
  const body = hasBody(ctx);
  const tried = new Set<string>();
  let lastError = NO_SERVERS;
  for (;;) {
    const client = pool.pick();
    if (!client || tried.has(client.addr)) throw new HttpError(500, tried.size === 0 ? NO_SERVERS : lastError);
    tried.add(client.addr);
    if (client.needsProof) {
      try {
        await client.ready();
      } catch (e) {
        lastError = (e as Error).message;
        pool.failed(client.addr);
        if (body) throw new HttpError(500, lastError);
        continue;
      }
    }
    // HTTP/1.1 keep-alive connections where the security allows (forward-h1.ts), else an HTTP/2 stream.
    const h1 = client.http1();
    const outcome = h1 ? await forwardOnceH1(ctx, h1, token, body) : await once(ctx, client.request(requestHeaders(ctx, token), !body), body);
    if (outcome === 'done') return null;
    lastError = transportMessage(client.addr, outcome);
    pool.failed(client.addr);
    if (body) throw new HttpError(500, lastError);
  }
}

/** One attempt: 'done' once answered (or cut off after answering), else the error before any answer. */
function once(ctx: Ctx, stream: ClientHttp2Stream, body: boolean): Promise<'done' | Error> {
  return new Promise((resolve) => {
    const res = ctx.res;
    let answered = false;
    const cancel = (): void => {
      if (!res.writableFinished) stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    res.once('close', cancel);
    stream.on('response', (h) => {
      answered = true;
      const status = Number(h[':status']);
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') && v !== undefined) out[k] = v;
      res.writeHead(status, out);
      stream.pipe(res);
    });
    stream.on('error', (e: Error) => {
      if (!answered) {
        res.off('close', cancel);
        resolve(e);
        return;
      }
      res.destroy();
      resolve('done');
    });
    stream.on('close', () => {
      if (answered || res.destroyed) {
        res.off('close', cancel);
        resolve('done');
      } else {
        res.off('close', cancel);
        resolve(new Error(`the server closed the stream before answering (code ${stream.rstCode ?? 0})`));
      }
    });
    if (body) ctx.req.pipe(stream);
  });
}
