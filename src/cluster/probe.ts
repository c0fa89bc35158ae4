// Round-trip probes over UDP on the serf LAN port, feeding the Vivaldi client: our small
// equivalent of memberlist's probe loop with serf's coordinates piggybacked on the acks (serf's
// ping_delegate.go). It measures; it does not gossip or detect failures.
//
// Every intervalMs one peer is pinged, round-robin over a shuffled list (memberlist's
// ProbeInterval, 1s); the ack carries the peer's coordinate and the round trip it took, less any
// ack later than timeoutMs (ProbeTimeout, 500ms, which is no sample), updates ours.
//
// Packets (big-endian), at most MAX_PACKET bytes, anything else dropped unread:
//   ping: 'T' 1 PING seq:u32 nameLen:u8 name       (the node meant; '' for whoever answers)
//   ack:  'T' 1 ACK  seq:u32 dims:u8 f64×dims Error Adjustment Height
// With a gossip key each packet is sealed as memberlist's encryption version 1 (security.go):
// version byte 1, a 12-byte random nonce, then AES-GCM ciphertext and 16-byte tag, no additional
// data. A packet that does not open with our key is dropped, so a prober without the key (or
// with another) gets no acks from us and we none from it.

import crypto from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { cloneCoordinate, isValidCoordinate, type NetCoordinate } from '../util/coordinate.js';
import type { Logger } from '../util/log.js';
import { defaultVivaldiConfig, VivaldiClient, VivaldiError, type VivaldiConfig } from '../util/vivaldi.js';

export interface Peer {
  name: string;
  addr: string;
  port: number;
}

export interface ProberOptions {
  bind: string;
  /** The serf LAN port (serfLanPort in agent/self.ts); 0 lets the OS pick (tests). */
  port: number;
  /** The gossip key (gossipKey in config/build.ts): 16, 24 or 32 bytes; null sends in the clear. */
  key: Buffer | null;
  /** The peers to probe, without ourselves; asked again on every probe. */
  peers: () => Peer[];
  /** Our coordinate changed. */
  onCoordinate: (c: NetCoordinate) => void;
  intervalMs?: number;
  timeoutMs?: number;
  logger: Logger;
  /** Our node name: pings naming another node are not answered (its address was reused). */
  name?: string;
  vivaldi?: VivaldiConfig;
}

const MAGIC = 0x54;
const VERSION = 1;
const PING = 1;
const ACK = 2;
const HEADER = 8;
/** Far above an ack of 8 dimensions (96 bytes, 125 sealed) or a ping with a 255-byte name. */
const MAX_PACKET = 1024;
const MAX_DIMS = 64;
const MAX_NAME = 255;

const ENC_VERSION = 1;
const NONCE = 12;
const TAG = 16;

/** Counters since start, for logs and tests. */
export interface ProbeStats {
  /** Pings sent. */
  pings: number;
  /** Acks to our pings, in time. */
  acks: number;
  /** Pings that went unanswered for timeoutMs. */
  timeouts: number;
  /** Pings from others we answered. */
  answered: number;
  /** Datagrams ignored: too big, not sealed with our key, malformed, or not answering a ping of ours. */
  dropped: number;
}

interface Pending {
  peer: Peer;
  sentAt: number;
  timer: NodeJS.Timeout;
}

export class Prober {
  private readonly vivaldi: VivaldiClient;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private socket: dgram.Socket | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private readonly pending = new Map<number, Pending>();
  /** This round's remaining peers, in the shuffled order they are probed. */
  private round: Peer[] = [];
  private seq = crypto.randomInt(0, 2 ** 32);
  private readonly peerCoords = new Map<string, NetCoordinate>();
  private stopped = false;
  private readonly counts: ProbeStats = { pings: 0, acks: 0, timeouts: 0, answered: 0, dropped: 0 };

  constructor(private readonly opts: ProberOptions) {
    this.vivaldi = new VivaldiClient(opts.vivaldi ?? defaultVivaldiConfig());
    this.intervalMs = opts.intervalMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 500;
    this.log = opts.logger;
    if (opts.key && ![16, 24, 32].includes(opts.key.length)) throw new Error('key size must be 16, 24 or 32 bytes');
  }

  /** Binds the UDP socket and starts probing; resolves with the bound port. */
  async start(): Promise<{ port: number }> {
    if (this.socket || this.stopped) throw new Error('a prober starts once');
    const socket = dgram.createSocket({ type: net.isIPv6(this.opts.bind) ? 'udp6' : 'udp4' });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: this.opts.bind, port: this.opts.port, exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      try {
        socket.close();
      } catch {
        // never bound: nothing to release
      }
      throw e;
    }
    if (this.stopped) {
      // stop() came while we were binding: release what we just bound.
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      throw new Error('prober stopped while starting');
    }
    socket.on('error', (e) => this.log.warn('probe socket error', { error: e.message }));
    socket.on('message', (msg, rinfo) => {
      try {
        this.receive(msg, rinfo);
      } catch (e) {
        // Decoding is bounds-checked; this is the last line against anything a packet provokes.
        this.counts.dropped++;
        this.log.debug('dropped probe packet', { from: `${rinfo.address}:${rinfo.port}`, error: (e as Error).message });
      }
    });
    this.socket = socket;
    // As memberlist, the ticker starts after a random stagger, so agents started together do not
    // probe in lockstep.
    this.ticker = setTimeout(() => {
      this.probeNext();
      this.ticker = setInterval(() => this.probeNext(), this.intervalMs);
      this.ticker.unref();
    }, crypto.randomInt(0, Math.max(1, this.intervalMs)));
    this.ticker.unref();
    return { port: socket.address().port };
  }

  /** Stops probing, abandons outstanding probes and releases the port. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearTimeout(this.ticker);
    this.ticker = null;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    const socket = this.socket;
    this.socket = null;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** Our current coordinate (a copy). */
  coordinate(): NetCoordinate {
    return this.vivaldi.getCoordinate();
  }

  /** The median of the last few round trips to `name`, in seconds, as Vivaldi last used it. */
  rtt(name: string): number | undefined {
    return this.vivaldi.medianRtt(name);
  }

  /** The coordinate `name` last reported (serf's coordinate cache). */
  peerCoordinate(name: string): NetCoordinate | undefined {
    const c = this.peerCoords.get(name);
    return c && cloneCoordinate(c);
  }

  /**
   * One round trip to `name`, which reports `coord`, from any path (probes, or heartbeats to the
   * servers). Returns whether it was taken; a rejected one (bad coordinate or RTT) changes nothing.
   */
  observe(name: string, coord: NetCoordinate, rttSeconds: number): boolean {
    const before = this.vivaldi.getCoordinate();
    let after: NetCoordinate;
    try {
      after = this.vivaldi.update(name, coord, rttSeconds);
    } catch (e) {
      if (!(e instanceof VivaldiError)) throw e;
      this.log.trace(`Rejected coordinate from ${name}: ${e.message}`);
      return false;
    }
    this.peerCoords.set(name, cloneCoordinate(coord));
    if (!sameCoordinate(before, after)) {
      try {
        this.opts.onCoordinate(after);
      } catch (e) {
        this.log.error('coordinate listener failed', { error: (e as Error).message });
      }
    }
    return true;
  }

  stats(): ProbeStats {
    return { ...this.counts };
  }

  /** Forgets a peer that left: its samples and cached coordinate. */
  forget(name: string): void {
    this.vivaldi.forgetNode(name);
    this.peerCoords.delete(name);
    this.round = this.round.filter((p) => p.name !== name);
  }

  private probeNext(): void {
    let current: Peer[];
    try {
      current = this.opts.peers();
    } catch (e) {
      this.log.error('listing peers to probe failed', { error: (e as Error).message });
      return;
    }
    if (this.opts.name !== undefined) current = current.filter((p) => p.name !== this.opts.name);
    const live = new Map(current.map((p) => [p.name, p]));
    // memberlist walks a shuffled list and reshuffles when it has been round; peers gone since
    // the shuffle are skipped, and their current address is used for those still there.
    for (let tries = 0; tries < 2; tries++) {
      while (this.round.length > 0) {
        const next = live.get(this.round.shift()!.name);
        if (next) return this.ping(next);
      }
      this.round = shuffle([...current]);
    }
  }

  private ping(peer: Peer): void {
    const socket = this.socket;
    if (!socket) return;
    this.seq = (this.seq + 1) >>> 0;
    const seq = this.seq;
    const timer = setTimeout(() => {
      // A timeout is no sample: the peer may be down, or the packet lost.
      if (!this.pending.delete(seq)) return;
      this.counts.timeouts++;
      this.log.debug(`Failed ping: ${peer.name} (timeout reached)`);
    }, this.timeoutMs);
    timer.unref();
    this.pending.set(seq, { peer, sentAt: performance.now(), timer });
    this.counts.pings++;
    this.send(encodePing(seq, peer.name), peer.addr, peer.port);
  }

  private send(plain: Buffer, addr: string, port: number): void {
    const socket = this.socket;
    if (!socket) return;
    const packet = this.opts.key ? seal(this.opts.key, plain) : plain;
    socket.send(packet, port, addr, (err) => {
      if (err) this.log.debug('probe send failed', { to: `${addr}:${port}`, error: err.message });
    });
  }

  private receive(packet: Buffer, from: dgram.RemoteInfo): void {
    const at = performance.now();
    if (!this.handle(packet, from, at)) this.counts.dropped++;
  }

  /** Acts on one datagram; false when it is ignored. */
  private handle(packet: Buffer, from: dgram.RemoteInfo, at: number): boolean {
    if (packet.length > MAX_PACKET) return false;
    const plain = this.opts.key ? open(this.opts.key, packet) : packet;
    if (!plain) return false;
    const msg = decode(plain);
    if (!msg) return false;
    if (msg.type === PING) {
      if (msg.node !== '' && this.opts.name !== undefined && msg.node !== this.opts.name) return false;
      this.send(encodeAck(msg.seq, this.vivaldi.getCoordinate()), from.address, from.port);
      this.counts.answered++;
      return true;
    }
    const p = this.pending.get(msg.seq);
    if (!p) return false; // late (timed out), or not ours
    if (from.port !== p.peer.port || (net.isIP(p.peer.addr) !== 0 && !sameAddress(from.address, p.peer.addr))) return false;
    clearTimeout(p.timer);
    this.pending.delete(msg.seq);
    this.counts.acks++;
    this.observe(p.peer.name, msg.coord, (at - p.sentAt) / 1000);
    return true;
  }
}

type Message = { type: typeof PING; seq: number; node: string } | { type: typeof ACK; seq: number; coord: NetCoordinate };

function encodePing(seq: number, node: string): Buffer {
  let name = Buffer.from(node, 'utf8');
  if (name.length > MAX_NAME) name = Buffer.alloc(0); // too long to name: let whoever is there answer
  const b = Buffer.alloc(HEADER + name.length);
  header(b, PING, seq, name.length);
  name.copy(b, HEADER);
  return b;
}

function encodeAck(seq: number, c: NetCoordinate): Buffer {
  const dims = c.Vec.length;
  const b = Buffer.alloc(HEADER + 8 * (dims + 3));
  header(b, ACK, seq, dims);
  let at = HEADER;
  for (const v of [...c.Vec, c.Error, c.Adjustment, c.Height]) at = b.writeDoubleBE(v, at);
  return b;
}

function header(b: Buffer, type: number, seq: number, count: number): void {
  b[0] = MAGIC;
  b[1] = VERSION;
  b[2] = type;
  b.writeUInt32BE(seq, 3);
  b[7] = count;
}

/** A well-formed message, or null: every length is checked before it is read. */
function decode(b: Buffer): Message | null {
  if (b.length < HEADER || b[0] !== MAGIC || b[1] !== VERSION) return null;
  const seq = b.readUInt32BE(3);
  const count = b[7]!;
  if (b[2] === PING) {
    if (b.length !== HEADER + count) return null;
    return { type: PING, seq, node: b.toString('utf8', HEADER) };
  }
  if (b[2] === ACK) {
    if (count === 0 || count > MAX_DIMS || b.length !== HEADER + 8 * (count + 3)) return null;
    const f = (i: number): number => b.readDoubleBE(HEADER + 8 * i);
    const coord: NetCoordinate = { Vec: Array.from({ length: count }, (_, i) => f(i)), Error: f(count), Adjustment: f(count + 1), Height: f(count + 2) };
    // The Vivaldi client refuses an invalid one too; refusing here keeps it out of the cache.
    return isValidCoordinate(coord) ? { type: ACK, seq, coord } : null;
  }
  return null;
}

const cipherName = (key: Buffer): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' => (key.length === 16 ? 'aes-128-gcm' : key.length === 24 ? 'aes-192-gcm' : 'aes-256-gcm');

/** memberlist encryptPayload, version 1. */
export function seal(key: Buffer, plain: Buffer): Buffer {
  const nonce = crypto.randomBytes(NONCE);
  const c = crypto.createCipheriv(cipherName(key), key, nonce);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([Buffer.from([ENC_VERSION]), nonce, body, c.getAuthTag()]);
}

/** memberlist decryptPayload, version 1 only (we never send the padded version 0): null unless it opens. */
export function open(key: Buffer, packet: Buffer): Buffer | null {
  if (packet.length < 1 + NONCE + TAG || packet[0] !== ENC_VERSION) return null;
  try {
    const d = crypto.createDecipheriv(cipherName(key), key, packet.subarray(1, 1 + NONCE), { authTagLength: TAG });
    d.setAuthTag(packet.subarray(packet.length - TAG));
    return Buffer.concat([d.update(packet.subarray(1 + NONCE, packet.length - TAG)), d.final()]);
  } catch {
    return null;
  }
}

function sameAddress(a: string, b: string): boolean {
  const strip = (s: string): string => (s.startsWith('::ffff:') ? s.slice(7) : s).toLowerCase();
  return strip(a) === strip(b);
}

function sameCoordinate(a: NetCoordinate, b: NetCoordinate): boolean {
  return a.Error === b.Error && a.Adjustment === b.Adjustment && a.Height === b.Height && a.Vec.length === b.Vec.length && a.Vec.every((v, i) => v === b.Vec[i]);
}

function shuffle<T>(list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = crypto.randomInt(0, i + 1);
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}
