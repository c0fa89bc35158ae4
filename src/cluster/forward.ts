// Forwarding one HTTP API request to a server over the agent channel, as it came (method, path,
// query, headers, body), with the caller's token resolved as this agent resolves it (so a client
// agent's default token applies). The answer is streamed back unchanged: status, headers (the
// X-Consul-* ones included) and body, so a blocking query through an agent behaves exactly as one
// sent to the server. When the client goes away, the forwarded request's connection is closed,
// which ends the server's wait. The exchange itself is forward-h1.ts's.

import type { Ctx } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { forwardOnceH1 } from './forward-h1.js';
import type { ServerPool } from './pool.js';
import { transportMessage } from './transport.js';

export const NO_SERVERS = 'No known Consul servers';

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
    // Over HTTP/1.1 keep-alive connections to the server (forward-h1.ts).
    const outcome = await forwardOnceH1(ctx, client.http1(), token, body);
    if (outcome === 'done') return null;
    lastError = transportMessage(client.addr, outcome);
    pool.failed(client.addr);
    if (body) throw new HttpError(500, lastError);
  }
}
