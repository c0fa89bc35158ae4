// /v1/event/fire/<name> and /v1/event/list, as Consul 1.10 answers them (agent/event_endpoint.go).
// Events are not in the replicated state: the servers deliver each to every agent of the
// datacenter, and each agent keeps the newest 256 it received and that pass its filters. The list's
// X-Consul-Index is derived from the newest matching event's ID (uuidToUint64) and uses all 64
// bits, so it is handled as a BigInt from the header we send to the ?index= we read back.

import { SERF_USER_EVENT_SIZE_LIMIT, uuidToUint64, userEventJSON, type UserEvent } from '../../events/user-event.js';
import { UserEventError, type UserEvents } from '../../events/user-events.js';
import { parseUint64Text } from '../../util/uint64.js';
import type { AgentDeps, EndpointGroup } from '../api.js';
import { eventWrite, visible } from '../acl.js';
import type { Ctx } from '../context.js';
import { badRequest, HttpError, serverError } from '../errors.js';
import { checkDatacenter, MAX_WAIT_MS, parseWaitMs } from '../query-options.js';
import { jsonText, type Reply } from '../reply.js';

const FIRE_PREFIX = '/v1/event/fire/';
/** Bodies beyond this are certainly past serf's limit; they are refused without being buffered. */
const MAX_BODY = 1 << 20;
async function fire(ctx: Ctx, deps: AgentDeps, events: UserEvents): Promise<Reply> {
  const name = ctx.path.slice(FIRE_PREFIX.length);
  if (name === '') throw badRequest('Missing name');
  let payload: Buffer | null = null;
  const tooBig = `user event exceeds configured limit of ${SERF_USER_EVENT_SIZE_LIMIT} bytes before encoding`;
  try {
    const body = await ctx.body(MAX_BODY, () => tooBig);
    if (body.length > 0) payload = body;
  } catch (e) {
    if (e instanceof HttpError && e.status === 413) throw serverError(tooBig);
    throw e;
  }
  let event: UserEvent;
  try {
    event = events.prepare({ name, payload, nodeFilter: ctx.get('node') ?? '', serviceFilter: ctx.get('service') ?? '', tagFilter: ctx.get('tag') ?? '' });
    // The fire is an RPC to the servers of ?dc: a datacenter we cannot reach fails only now.
    checkDatacenter(ctx, deps.config.datacenter);
    await events.publish(event);
  } catch (e) {
    if (e instanceof UserEventError) throw serverError(e.message);
    throw e;
  }
  return jsonText(JSON.stringify(userEventJSON(event)));
}

/** Consul's parseWait, with the index kept as a uint64 (BigInt). */
function parseEventWait(ctx: Ctx): { minIndex: bigint; waitMs: number } {
  const waitMs = parseWaitMs(ctx);
  let minIndex = 0n;
  const idx = ctx.get('index');
  if (idx) {
    const t = parseUint64Text(idx);
    if (t === null) throw badRequest('Invalid index');
    minIndex = BigInt(t);
  }
  return { minIndex, waitMs };
}

interface EventRead {
  events: UserEvent[];
  index: bigint;
}

async function list(ctx: Ctx, deps: AgentDeps, events: UserEvents): Promise<Reply | null> {
  const { minIndex, waitMs } = parseEventWait(ctx);
  const name = ctx.get('name') ?? '';
  const read = (): EventRead => {
    // Events the token may not read are dropped before the index is taken, as Consul's EventList.
    const evs = visible(ctx, events.list(name), (a, e) => a.eventRead(e.Name));
    const last = evs[evs.length - 1];
    // A non-zero index even with no events, so watches do not spin.
    return { events: evs, index: last ? uuidToUint64(last.ID) : 1n };
  };
  let out = read();
  if (minIndex !== 0n) {
    // Event indexes are not monotonic: Consul blocks only while the index equals the caller's.
    const budget = waitMs > 0 ? Math.min(waitMs, MAX_WAIT_MS) : MAX_WAIT_MS;
    const deadline = Date.now() + budget;
    while (out.index === minIndex) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const changed = await waitForEvent(ctx, deps, events, left);
      if (ctx.signal.aborted) return null;
      if (!changed) break;
      ctx.recheck?.();
      out = read();
    }
  }
  return jsonText(JSON.stringify(out.events.map(userEventJSON)), { 'X-Consul-Index': out.index.toString() });
}

/** Waits for the next event, the client leaving, the agent shutting down, or `ms`. */
async function waitForEvent(ctx: Ctx, { closing }: AgentDeps, events: UserEvents, ms: number): Promise<boolean> {
  const local = new AbortController();
  const onGone = (): void => local.abort();
  const client = ctx.signal;
  client.addEventListener('abort', onGone, { once: true });
  // The HTTP API closing (agent shutdown) answers blocked lists at once.
  closing?.addEventListener('abort', onGone, { once: true });
  try {
    return await events.buffer.wait(ms, local.signal);
  } finally {
    local.abort();
    client.removeEventListener('abort', onGone);
    closing?.removeEventListener('abort', onGone);
  }
}

export const eventEndpoints: EndpointGroup<AgentDeps> = (router, deps) => {
  const events = deps.events;
  if (!events) throw new Error('the event endpoints need the agent\'s user events');
  router.on('/v1/event/fire/*', { PUT: { acl: eventWrite((ctx) => ctx.path.slice(FIRE_PREFIX.length)), handler: (ctx) => fire(ctx, deps, events) } });
  router.on('/v1/event/list', { GET: { acl: 'filtered', handler: (ctx) => list(ctx, deps, events) } });
};
