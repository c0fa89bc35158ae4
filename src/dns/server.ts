// The DNS interface (UDP and TCP on each client address, port `ports.dns`), with Consul's
// wire behaviour: authoritative answers, RD echoed, RA when recursors are configured, EDNS0
// echoed with the client's buffer size, and UDP answers trimmed to fit — at most
// udp_answer_limit records without EDNS, the advertised size with it — with the TC bit only
// when enable_truncate is set. Names outside the domain (and reverse misses) go to the
// recursors, in order, over the client's transport; without recursors they answer REFUSED.

import dgram from 'node:dgram';
import net from 'node:net';
import type { Answer, DecodedPacket, OptAnswer, Packet } from 'dns-packet';
import dnsPacket from 'dns-packet';
import type { Logger } from '../util/log.js';
import { setLongTimeout } from '../util/timers.js';
import { otherDatacenter, preparedQueryName } from './query.js';
import { type DnsContext, type Resolution, resolve } from './resolve.js';

const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const DEFAULT_UDP_SIZE = 512;

// Bounds on what clients can make the server hold. The timeouts and the per-connection query
// count are miekg/dns's defaults, which Consul's DNS server runs with.
/** TCP connections open at once; beyond, a new one is closed at once. */
export const DNS_TCP_MAX_CONNS = 256;
/** TCP connections open at once from one client address. */
export const DNS_TCP_MAX_CONNS_PER_IP = 64;
/** The first query must arrive whole within this long of the connection (miekg: 2s read timeout). */
export const DNS_TCP_READ_TIMEOUT_MS = 2_000;
/** Each later query must arrive whole within this long of the previous answer (miekg: 8s idle). */
export const DNS_TCP_IDLE_TIMEOUT_MS = 8_000;
/** An answer must leave the buffer within this long once the client stops reading (miekg: 2s). */
export const DNS_TCP_WRITE_TIMEOUT_MS = 2_000;
/** Queries answered on one connection before it is closed (miekg's maxTCPQueries). */
export const DNS_TCP_MAX_QUERIES = 128;
/** Unsent answer bytes past which the connection stops being read until it drains. */
export const DNS_TCP_WRITE_HIGH_WATER = 64 * 1024;
/** Forwards to recursors in flight at once (each holds a socket); beyond, SERVFAIL at once. */
export const DNS_MAX_RECURSIONS = 64;

/** Counters of what the limits above turned away; tests and operators read them. */
export interface DnsStats {
  tcpOpen: number;
  tcpRefused: number;
  tcpTimedOut: number;
  /** Most TCP connections open at once. */
  tcpPeak: number;
  formErr: number;
  dropped: number;
  servFail: number;
  recursionsRefused: number;
}

export interface DnsServerOptions {
  hosts: string[];
  port: number;
  logger: Logger;
  /** Upstream servers, "host" or "host:port". */
  recursors: string[];
  context: () => DnsContext;
  /**
   * A client agent holds no catalog: its questions are answered by a server (the message as
   * received; the answer as the server's DNS interface gives it).
   */
  remote?: (msg: Buffer, transport: 'udp' | 'tcp') => Promise<Buffer | null>;
  /**
   * A server's path to another datacenter: a question naming it (web.service.dc2.consul) is
   * answered by a server there. null: no such datacenter known (the question fails as today).
   */
  forwardDC?: (dc: string, msg: Buffer, transport: 'udp' | 'tcp') => Promise<Buffer | null> | null;
}

function requestOpt(req: DecodedPacket): OptAnswer | undefined {
  return req.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
}

/** Builds the reply packet for a request (before any trimming). */
export function answer(req: DecodedPacket, ctx: DnsContext, recursion = false): Packet {
  const q = req.questions?.[0];
  const rd = (req.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | (recursion ? dnsPacket.RECURSION_AVAILABLE : 0);
  let res: Resolution;
  let rcode: number;
  if (!q) {
    res = { rcode: 'NOERROR', authoritative: false, answers: [], authorities: [], additionals: [] };
    rcode = RCODES.FORMERR;
  } else {
    res = resolve(ctx, q.name, q.type);
    rcode = RCODES[res.rcode];
  }
  const additionals: Answer[] = [...res.additionals];
  const opt = requestOpt(req);
  if (opt) additionals.push({ type: 'OPT', name: '.', udpPayloadSize: Math.max(opt.udpPayloadSize, DEFAULT_UDP_SIZE), extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] });
  return {
    type: 'response',
    id: req.id ?? 0,
    flags: (res.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | rd | rcode,
    questions: req.questions ?? [],
    answers: res.answers,
    authorities: res.authorities,
    additionals,
  };
}

/** trimUDPResponse: fewer answers until the reply fits; extra records follow their answers. */
export function trimForUDP(reply: Packet, req: DecodedPacket, answerLimit: number, setTruncated: boolean): Packet {
  const opt = requestOpt(req);
  const maxSize = opt ? Math.max(opt.udpPayloadSize, DEFAULT_UDP_SIZE) : DEFAULT_UDP_SIZE;
  const all = reply.answers ?? [];
  let answers = all;
  if (!opt && answers.length > answerLimit) answers = answers.slice(0, answerLimit);
  // The common case: nothing to trim.
  if (answers === all && dnsPacket.encodingLength(reply) <= maxSize) return reply;
  const keepExtras = (list: Answer[]): Answer[] => {
    const targets = new Set(list.flatMap((a) => (a.type === 'SRV' ? [a.data.target.toLowerCase()] : [a.name.toLowerCase()])));
    return (reply.additionals ?? []).filter((x) => x.type === 'OPT' || targets.has(x.name.toLowerCase()));
  };
  let out: Packet = { ...reply, answers, additionals: keepExtras(answers) };
  while ((out.answers?.length ?? 0) > 0 && dnsPacket.encodingLength(out) > maxSize) {
    answers = answers.slice(0, -1);
    out = { ...reply, answers, additionals: keepExtras(answers) };
  }
  if (setTruncated && answers.length < all.length) out.flags = (out.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE;
  return out;
}

function hostPort(addr: string): { host: string; port: number } {
  const m = /^\[(.+)\]:(\d+)$/.exec(addr) ?? /^([^:]+):(\d+)$/.exec(addr);
  return m ? { host: m[1] ?? addr, port: Number(m[2]) } : { host: addr, port: 53 };
}

/** Sends a query to one upstream server; resolves with its raw reply, or null on timeout/error. */
export function exchange(msg: Buffer, upstream: string, transport: 'udp' | 'tcp', timeoutMs: number): Promise<Buffer | null> {
  const { host, port } = hostPort(upstream);
  return new Promise((resolve) => {
    let done = false;
    let cleanup = (): void => undefined;
    const finish = (b: Buffer | null): void => {
      if (done) return;
      done = true;
      timer.close();
      cleanup();
      resolve(b);
    };
    // recursor_timeout comes from the config file, so it may be past Node's timer limit.
    const timer = setLongTimeout(() => finish(null), timeoutMs);
    // A bad recursor address (port 99999) throws synchronously: it is just a failed upstream.
    try {
      if (transport === 'udp') {
        const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
        cleanup = () => sock.close();
        sock.on('message', (m) => finish(m));
        sock.on('error', () => finish(null));
        sock.send(msg, port, host, (err) => {
          if (err) finish(null);
        });
      } else {
        const c = net.connect(port, host);
        cleanup = () => c.destroy();
        const chunks: Buffer[] = [];
        let size = 0;
        c.on('error', () => finish(null));
        c.on('data', (d: Buffer) => {
          chunks.push(d);
          size += d.length;
          if (size < 2) return;
          const head = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
          const len = head.readUInt16BE(0);
          if (size >= 2 + len) finish(Buffer.concat(chunks, size).subarray(2, 2 + len));
        });
        const head = Buffer.alloc(2);
        head.writeUInt16BE(msg.length);
        c.write(Buffer.concat([head, msg]));
      }
    } catch {
      finish(null);
    }
  });
}

/** The 12-byte header, or null when there is not one. */
interface Header {
  id: number;
  flags: number;
  qd: number;
  an: number;
  ns: number;
  ar: number;
}

function readHeader(buf: Buffer): Header | null {
  if (buf.length < 12) return null;
  return { id: buf.readUInt16BE(0), flags: buf.readUInt16BE(2), qd: buf.readUInt16BE(4), an: buf.readUInt16BE(6), ns: buf.readUInt16BE(8), ar: buf.readUInt16BE(10) };
}

/** A bare reply header (no records): FORMERR/NOTIMP as miekg sends them, built without encoding. */
function headerReply(h: Header, rcode: number, keepOpcode = false): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(h.id, 0);
  // QR set, the client's RD kept, opcode QUERY (or the client's for NOTIMP), AA cleared.
  out.writeUInt16BE(0x8000 | (keepOpcode ? h.flags & 0x7800 : 0) | (h.flags & 0x0100) | rcode, 2);
  return out;
}

/** DNS over TCP: each message is preceded by its 2-byte length; many per connection. */
class TcpConn {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private running = false;
  private closed = false;
  private queries = 0;
  private deadline: NodeJS.Timeout | null = null;

  constructor(
    private readonly c: net.Socket,
    private readonly answer: (msg: Buffer) => Promise<Buffer | null>,
    private readonly onTimeout: () => void,
  ) {
    c.on('close', () => {
      this.closed = true;
      this.clearDeadline();
    });
    c.on('error', () => c.destroy());
    c.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.buffered += d.length;
      void this.pump();
    });
    // Age, not silence: a byte now and then does not keep the connection open.
    this.setDeadline(DNS_TCP_READ_TIMEOUT_MS);
  }

  private setDeadline(ms: number): void {
    this.clearDeadline();
    this.deadline = setTimeout(() => {
      this.onTimeout();
      this.c.destroy();
    }, ms);
  }

  private clearDeadline(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }

  /** The next whole message, taken off the input (each byte copied once, not re-concatenated). */
  private next(): Buffer | null {
    if (this.buffered < 2) return null;
    if ((this.chunks[0] as Buffer).length < 2) this.flatten();
    const len = (this.chunks[0] as Buffer).readUInt16BE(0);
    if (this.buffered < 2 + len) return null;
    this.flatten();
    const all = this.chunks[0] as Buffer;
    const msg = Buffer.from(all.subarray(2, 2 + len));
    const rest = all.subarray(2 + len);
    this.chunks.length = 0;
    if (rest.length > 0) this.chunks.push(rest);
    this.buffered = rest.length;
    return msg;
  }

  private flatten(): void {
    if (this.chunks.length > 1) {
      const all = Buffer.concat(this.chunks, this.buffered);
      this.chunks.length = 0;
      this.chunks.push(all);
    }
  }

  /** Answers queries one at a time, in order; the socket is not read while one is answered. */
  private async pump(): Promise<void> {
    if (this.running || this.closed) return;
    this.running = true;
    this.c.pause();
    try {
      for (let msg = this.next(); msg && !this.closed; msg = this.next()) {
        this.clearDeadline();
        const out = await this.answer(msg);
        if (this.closed) return;
        if (!out) {
          this.c.destroy(); // not DNS: nothing sensible to say on this stream
          return;
        }
        const head = Buffer.alloc(2);
        head.writeUInt16BE(out.length);
        this.c.write(Buffer.concat([head, out]));
        if (++this.queries >= DNS_TCP_MAX_QUERIES) {
          this.finish();
          return;
        }
        // A client that sends but does not read stops being read (its answers stay bounded).
        if (this.c.writableLength > DNS_TCP_WRITE_HIGH_WATER && !(await this.waitDrain())) return;
        this.setDeadline(DNS_TCP_IDLE_TIMEOUT_MS);
      }
    } finally {
      this.running = false;
      if (!this.closed) this.c.resume();
    }
  }

  /** Closes after the last answer: once it is flushed, or after the write timeout if it is not. */
  private finish(): void {
    const timer = setTimeout(() => this.c.destroy(), DNS_TCP_WRITE_TIMEOUT_MS);
    this.c.once('close', () => clearTimeout(timer));
    this.c.once('finish', () => this.c.destroy());
    this.c.end();
  }

  /** Resolves true once the output drained, false (connection closed) after the write timeout. */
  private waitDrain(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.c.off('drain', onDrain);
        this.c.off('close', onClose);
        this.onTimeout();
        this.c.destroy();
        resolve(false);
      }, DNS_TCP_WRITE_TIMEOUT_MS);
      const onDrain = (): void => {
        clearTimeout(timer);
        this.c.off('close', onClose);
        resolve(!this.closed);
      };
      const onClose = (): void => {
        clearTimeout(timer);
        this.c.off('drain', onDrain);
        resolve(false);
      };
      this.c.once('drain', onDrain);
      this.c.once('close', onClose);
    });
  }
}

export class DnsServer {
  private readonly udp: dgram.Socket[] = [];
  private readonly tcp: net.Server[] = [];
  private readonly conns = new Set<net.Socket>();
  private readonly perIP = new Map<string, number>();
  private recursions = 0;
  /** host:port of each listener (UDP and TCP share the port). */
  addrs: string[] = [];
  readonly stats: DnsStats = { tcpOpen: 0, tcpRefused: 0, tcpTimedOut: 0, tcpPeak: 0, formErr: 0, dropped: 0, servFail: 0, recursionsRefused: 0 };

  constructor(private readonly opts: DnsServerOptions) {}

  /**
   * The answer to one message, or null to send nothing. Never rejects: whatever goes wrong
   * answering a question fails that question alone (SERVFAIL, one log line).
   */
  /** The answer to one message as this interface gives it (the agent channel asks servers this). */
  answerMessage(buf: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | null> {
    return this.reply(buf, transport);
  }

  private async reply(buf: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | null> {
    // As miekg's default accept policy: no header, or a response, is not answered (a reply to
    // junk could be used for amplification); other opcodes are NOTIMP; anything but one
    // question (and at most 1 answer, 1 authority, 2 extra records) is FORMERR.
    const h = readHeader(buf);
    if (!h || (h.flags & 0x8000) !== 0) {
      this.stats.dropped++;
      return null;
    }
    if ((h.flags & 0x7800) !== 0) return headerReply(h, RCODES.NOTIMP, true);
    if (h.qd !== 1 || h.an > 1 || h.ns > 1 || h.ar > 2) {
      this.stats.formErr++;
      return headerReply(h, RCODES.FORMERR);
    }
    let req: DecodedPacket;
    try {
      req = dnsPacket.decode(buf);
    } catch {
      this.stats.formErr++;
      return headerReply(h, RCODES.FORMERR);
    }
    try {
      const remote = this.opts.remote;
      if (remote) return await remote(buf, transport);
      return await this.answerQuery(buf, req, transport);
    } catch (e) {
      this.stats.servFail++;
      const q = req.questions?.[0];
      this.opts.logger.warn('failed to answer DNS question: answering SERVFAIL', { question: q?.name ?? '', type: q?.type ?? '', error: e instanceof Error ? e.message : String(e) });
      try {
        const flags = (req.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | (this.opts.recursors.length > 0 ? dnsPacket.RECURSION_AVAILABLE : 0) | RCODES.SERVFAIL;
        return dnsPacket.encode({ type: 'response', id: req.id ?? 0, flags, questions: req.questions ?? [] });
      } catch {
        return headerReply(h, RCODES.SERVFAIL);
      }
    }
  }

  private async answerQuery(buf: Buffer, req: DecodedPacket, transport: 'udp' | 'tcp'): Promise<Buffer> {
    let ctx = this.opts.context();
    const fwd = this.opts.forwardDC;
    const qname = req.questions?.[0]?.name;
    if (fwd && qname !== undefined) {
      const dc = otherDatacenter(qname, ctx.domain, ctx.datacenter);
      const out = dc !== null ? fwd(dc, buf, transport) : null;
      if (out) {
        const r = await out;
        if (r) return r;
      }
    }
    const pq = ctx.preparedQueryAsync;
    const queryName = pq && qname !== undefined ? preparedQueryName(qname, ctx.domain, ctx.datacenter) : null;
    if (pq && queryName !== null) {
      // Failover may ask other datacenters: run it first, then resolve from what it found.
      const found = await pq(queryName);
      ctx = { ...ctx, preparedQuery: () => found };
    }
    const recursors = this.opts.recursors;
    let reply = answer(req, ctx, recursors.length > 0);
    const rcode = (reply.flags ?? 0) & 0xf;
    // Only names outside the domain are not answered authoritatively.
    const outside = ((reply.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER) === 0 && rcode === RCODES.REFUSED;
    const reverseMiss = rcode === RCODES.NXDOMAIN && /\.(in-addr|ip6)\.arpa\.?$/i.test(req.questions?.[0]?.name ?? '');
    if (recursors.length > 0 && (outside || reverseMiss)) {
      if (this.recursions >= DNS_MAX_RECURSIONS) {
        // A flood of outside names: answer from here rather than queue sockets without bound.
        this.stats.recursionsRefused++;
      } else {
        this.recursions++;
        try {
          for (const upstream of recursors) {
            const r = await exchange(buf, upstream, transport, ctx.dns.recursorTimeoutMs);
            if (!r) continue;
            try {
              const rc = (dnsPacket.decode(r).flags ?? 0) & 0xf;
              // As Consul: a failing upstream (not NOERROR/NXDOMAIN) yields to the next one.
              if (rc !== RCODES.NOERROR && rc !== RCODES.NXDOMAIN) continue;
            } catch {
              continue; // an upstream reply that does not parse is a failed upstream
            }
            return r;
          }
        } finally {
          this.recursions--;
        }
        this.opts.logger.warn('all DNS recursors failed', { question: req.questions?.[0]?.name ?? '' });
      }
      if (outside) return dnsPacket.encode({ ...reply, flags: ((reply.flags ?? 0) & ~0xf) | RCODES.SERVFAIL });
    }
    if (transport === 'udp') reply = trimForUDP(reply, req, ctx.dns.udpAnswerLimit, ctx.dns.enableTruncate);
    return dnsPacket.encode(reply);
  }

  async listen(): Promise<string[]> {
    let port = this.opts.port;
    for (const host of this.opts.hosts) {
      port = await this.bindPair(host, port);
      this.addrs.push(`${host.includes(':') ? `[${host}]` : host}:${port}`);
    }
    return this.addrs;
  }

  /**
   * UDP and TCP on one port. With port 0 the UDP socket picks it and TCP takes the same number,
   * which another process may hold for TCP: then both are given up and another port is tried.
   */
  private async bindPair(host: string, port: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const sock = await this.bindUDP(host, port);
      const bound = sock.address().port;
      const srv = net.createServer((c) => this.serveTCP(c));
      try {
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen(bound, host, () => {
            srv.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        sock.close();
        if (port === 0 && (e as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 10) continue;
        throw e;
      }
      // Accept errors (EMFILE under a descriptor limit) must not end the process.
      srv.on('error', (e) => this.opts.logger.warn('dns tcp error', { error: e.message }));
      this.udp.push(sock);
      this.tcp.push(srv);
      return bound;
    }
  }

  private async bindUDP(host: string, port: number): Promise<dgram.Socket> {
    const sock = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: false });
    sock.on('message', (msg, rinfo) => {
      void this.reply(msg, 'udp').then((out) => {
        if (!out) return;
        try {
          sock.send(out, rinfo.port, rinfo.address, (err) => {
            if (err) this.opts.logger.debug('dns udp send failed', { to: rinfo.address, error: err.message });
          });
        } catch (e) {
          // The socket closed (shutdown) while the answer was being prepared.
          this.opts.logger.debug('dns udp send failed', { to: rinfo.address, error: e instanceof Error ? e.message : String(e) });
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.on('error', (e) => this.opts.logger.warn('dns udp error', { error: e.message }));
    return sock;
  }

  private serveTCP(c: net.Socket): void {
    const ip = c.remoteAddress ?? '';
    const fromIP = this.perIP.get(ip) ?? 0;
    if (this.conns.size >= DNS_TCP_MAX_CONNS || fromIP >= DNS_TCP_MAX_CONNS_PER_IP) {
      this.stats.tcpRefused++;
      c.on('error', () => undefined);
      c.destroy();
      return;
    }
    this.conns.add(c);
    this.perIP.set(ip, fromIP + 1);
    this.stats.tcpOpen = this.conns.size;
    this.stats.tcpPeak = Math.max(this.stats.tcpPeak, this.conns.size);
    c.on('close', () => {
      this.conns.delete(c);
      this.stats.tcpOpen = this.conns.size;
      const n = (this.perIP.get(ip) ?? 1) - 1;
      if (n > 0) this.perIP.set(ip, n);
      else this.perIP.delete(ip);
    });
    new TcpConn(
      c,
      (msg) => this.reply(msg, 'tcp'),
      () => this.stats.tcpTimedOut++,
    );
  }

  async close(): Promise<void> {
    for (const s of this.udp) s.close();
    for (const c of this.conns) c.destroy();
    await Promise.all(this.tcp.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.udp.length = 0;
    this.tcp.length = 0;
  }
}
