// User events (Consul's agent/user_event.go): what an event carries, how a fire request is
// validated, how an agent decides whether an event is for it, the blocking index Consul derives
// from an event ID, and the size limits serf puts on the gossip message.

import { compileGoRegexp, GoRegexpError, type GoRegexp } from '../util/go-regexp.js';

/** userEventMaxVersion */
export const USER_EVENT_VERSION = 1;
/** remoteExecName: consumed by `consul exec`, never listed. */
export const REMOTE_EXEC_NAME = '_rexec';
/** Consul's user events travel in serf as "consul:event:<name>". */
export const SERF_EVENT_PREFIX = 'consul:event:';
/** serf's default UserEventSizeLimit (Consul 1.10 does not change it). */
export const SERF_USER_EVENT_SIZE_LIMIT = 512;
/** serf's hard UserEventSizeLimit. */
export const SERF_SANE_SIZE_LIMIT = 9 * 1024;

export interface UserEvent {
  ID: string;
  Name: string;
  /** null when the event has no payload (Consul's nil []byte). */
  Payload: Buffer | null;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
  /** Lamport time the gossip layer stamped on the event; 0 in the fire answer. */
  LTime: number;
}

/** The event as Consul's JSON shows it (Payload base64, or null). */
export function userEventJSON(e: UserEvent): Record<string, unknown> {
  return {
    ID: e.ID,
    Name: e.Name,
    Payload: e.Payload === null ? null : e.Payload.toString('base64'),
    NodeFilter: e.NodeFilter,
    ServiceFilter: e.ServiceFilter,
    TagFilter: e.TagFilter,
    Version: e.Version,
    LTime: e.LTime,
  };
}

/**
 * Consul's uuidToUint64: the event ID's two 64-bit halves XORed together. The result uses all 64
 * bits, so it is a BigInt, never a Number.
 */
export function uuidToUint64(id: string): bigint {
  const lower = id.slice(0, 8) + id.slice(9, 13) + id.slice(14, 18);
  const upper = id.slice(19, 23) + id.slice(24, 36);
  return BigInt(`0x${lower}`) ^ BigInt(`0x${upper}`);
}

/** validateUserEventParams: null when valid, else Consul's error text. */
export function validateUserEvent(e: Pick<UserEvent, 'Name' | 'NodeFilter' | 'ServiceFilter' | 'TagFilter'>): string | null {
  if (e.Name === '') return 'User event missing name';
  if (e.TagFilter !== '' && e.ServiceFilter === '') return 'Cannot provide tag filter without service filter';
  const filters: [string, string][] = [
    ['node', e.NodeFilter],
    ['service', e.ServiceFilter],
    ['tag', e.TagFilter],
  ];
  for (const [what, f] of filters) {
    if (f === '') continue;
    try {
      compileGoRegexp(f);
    } catch (err) {
      if (err instanceof GoRegexpError) return `Invalid ${what} filter: ${err.message}`;
      throw err;
    }
  }
  return null;
}

/** What an agent knows about itself when it filters events. */
export interface LocalIdentity {
  nodeName: string;
  /** The agent's local services (Consul matches ?service against the service ID). */
  services(): { ID: string; Tags: readonly string[] }[];
}

function tryCompile(f: string): GoRegexp | null {
  try {
    return compileGoRegexp(f);
  } catch {
    return null;
  }
}

/** shouldProcessUserEvent: does the event pass this agent's node, service and tag filters? */
export function eventIsForAgent(e: UserEvent, local: LocalIdentity): boolean {
  if (e.NodeFilter !== '') {
    const re = tryCompile(e.NodeFilter);
    if (!re || !re.test(local.nodeName)) return false;
  }
  if (e.ServiceFilter !== '') {
    const re = tryCompile(e.ServiceFilter);
    if (!re) return false;
    let tagRe: GoRegexp | null = null;
    if (e.TagFilter !== '') {
      tagRe = tryCompile(e.TagFilter);
      if (!tagRe) return false;
    }
    const found = local.services().some((s) => re.test(s.ID) && (tagRe === null || s.Tags.some((t) => tagRe.test(t))));
    if (!found) return false;
  }
  return true;
}

// ------------------------------------------------------------------ serf's size limits

/** Bytes of a msgpack raw/str header plus body as go-msgpack writes it (no str8: old spec). */
function rawSize(n: number): number {
  return n < 32 ? 1 + n : n < 0x10000 ? 3 + n : 5 + n;
}

function uintSize(n: number): number {
  return n < 128 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
}

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Size of the msgpack-encoded UserEvent the agent hands to serf (codec tags, omitempty fields). */
export function encodedUserEventSize(e: UserEvent): number {
  let size = 1; // fixmap header
  size += rawSize(2) + rawSize(utf8(e.ID)); // "ID"
  size += rawSize(1) + rawSize(utf8(e.Name)); // "n"
  if (e.Payload && e.Payload.length > 0) size += rawSize(1) + rawSize(e.Payload.length); // "p"
  if (e.NodeFilter !== '') size += rawSize(2) + rawSize(utf8(e.NodeFilter)); // "nf"
  if (e.ServiceFilter !== '') size += rawSize(2) + rawSize(utf8(e.ServiceFilter)); // "sf"
  if (e.TagFilter !== '') size += rawSize(2) + rawSize(utf8(e.TagFilter)); // "tf"
  size += rawSize(1) + uintSize(e.Version); // "v"
  return size;
}

/**
 * serf.UserEvent's checks for an event fired at Lamport time `ltime`: null when it fits, else
 * serf's error text. The serf payload is the encoded UserEvent; the serf name is prefixed.
 */
export function serfSizeError(e: UserEvent, ltime: number, limit = SERF_USER_EVENT_SIZE_LIMIT): string | null {
  const nameLen = utf8(SERF_EVENT_PREFIX + e.Name);
  const payloadLen = encodedUserEventSize(e);
  const before = nameLen + payloadLen;
  if (before > limit) return `user event exceeds configured limit of ${limit} bytes before encoding`;
  if (before > SERF_SANE_SIZE_LIMIT) return `user event exceeds sane limit of ${SERF_SANE_SIZE_LIMIT} bytes before encoding`;
  // messageUserEvent{LTime, Name, Payload, CC} behind a one-byte message type.
  const raw = 1 + 1 + rawSize(5) + uintSize(ltime) + rawSize(4) + rawSize(nameLen) + rawSize(7) + rawSize(payloadLen) + rawSize(2) + 1;
  if (raw > limit) return `encoded user event exceeds configured limit of ${limit} bytes after encoding`;
  if (raw > SERF_SANE_SIZE_LIMIT) return `encoded user event exceeds sane limit of ${SERF_SANE_SIZE_LIMIT} bytes before encoding`;
  return null;
}
