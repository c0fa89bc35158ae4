// The DNS interface (UDP and TCP on each client address, port `ports.dns`), with Consul's
// wire behaviour: authoritative answers, RD echoed, RA when recursors are configured, EDNS0
// echoed with the client's buffer size, and UDP answers trimmed to fit — at most
// udp_answer_limit records without EDNS, the advertised size with it — with the TC bit only
// when enable_truncate is set. Names outside the domain (and reverse misses) go to the
// recursors, in order, over the client's transport; without recursors they answer SERVFAIL.

import dgram from 'node:dgram';
import net from 'node:net';
import type { Answer, DecodedPacket, OptAnswer, Packet } from 'dns-packet';
import dnsPacket from 'dns-packet';
import type { Logger } from '../util/log.js';
import { setLongTimeout } from '../util/timers.js';
import { type DnsContext, type Resolution, resolve } from './resolve.js';

const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const DEFAULT_UDP_SIZE = 512;

export interface DnsServerOptions {
  hosts: string[];
  port: number;
  logger: Logger;
  /** Upstream servers, "host" or "host:port". */
  recursors: string[];
  context: () => DnsContext;
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
    const finish = (b: Buffer | null): void => {
      if (done) return;
      done = true;
      timer.close();
      cleanup();
      resolve(b);
    };
    let cleanup = (): void => undefined;
    // recursor_timeout comes from the config file, so it may be past Node's timer limit.
    const timer = setLongTimeout(() => finish(null), timeoutMs);
    if (transport === 'udp') {
      const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      cleanup = () => sock.close();
      sock.on('message', (m) => finish(m));
      sock.on('error', () => finish(null));
      sock.send(msg, port, host);
    } else {
      const c = net.connect(port, host);
      cleanup = () => c.destroy();
      let buf = Buffer.alloc(0);
      c.on('error', () => finish(null));
      c.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
      const head = Buffer.alloc(2);
      head.writeUInt16BE(msg.length);
      c.write(Buffer.concat([head, msg]));
    }
  });
}

export class DnsServer {
  private readonly udp: dgram.Socket[] = [];
  private readonly tcp: net.Server[] = [];
  private readonly conns = new Set<net.Socket>();
  /** host:port of each listener (UDP and TCP share the port). */
  addrs: string[] = [];

  constructor(private readonly opts: DnsServerOptions) {}

  private async reply(buf: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | null> {
    let req: DecodedPacket;
    try {
      req = dnsPacket.decode(buf);
    } catch {
      return null; // not DNS: nothing sensible to answer
    }
    if (req.type !== 'query') return null;
    const ctx = this.opts.context();
    const recursors = this.opts.recursors;
    let reply = answer(req, ctx, recursors.length > 0);
    const rcode = (reply.flags ?? 0) & 0xf;
    // Only names outside the domain are not answered authoritatively.
    const outside = ((reply.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER) === 0 && rcode === RCODES.SERVFAIL;
    const reverseMiss = rcode === RCODES.NXDOMAIN && /\.(in-addr|ip6)\.arpa\.?$/i.test(req.questions?.[0]?.name ?? '');
    if (recursors.length > 0 && (outside || reverseMiss)) {
      for (const upstream of recursors) {
        const r = await exchange(buf, upstream, transport, ctx.dns.recursorTimeoutMs);
        if (!r) continue;
        try {
          const rc = (dnsPacket.decode(r).flags ?? 0) & 0xf;
          // As Consul: a failing upstream (not NOERROR/NXDOMAIN) yields to the next one.
          if (rc !== RCODES.NOERROR && rc !== RCODES.NXDOMAIN) continue;
        } catch {
          continue;
        }
        return r;
      }
      this.opts.logger.warn('all DNS recursors failed', { question: req.questions?.[0]?.name ?? '' });
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
      this.udp.push(sock);
      this.tcp.push(srv);
      return bound;
    }
  }

  private async bindUDP(host: string, port: number): Promise<dgram.Socket> {
    const sock = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: false });
    sock.on('message', (msg, rinfo) => {
      void this.reply(msg, 'udp').then((out) => {
        if (out) sock.send(out, rinfo.port, rinfo.address);
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

  /** DNS over TCP: each message is preceded by its 2-byte length; many per connection. */
  private serveTCP(c: net.Socket): void {
    this.conns.add(c);
    c.on('close', () => this.conns.delete(c));
    c.on('error', () => c.destroy());
    c.setTimeout(10_000, () => c.destroy());
    let buf = Buffer.alloc(0);
    // Replies go out in the order the queries came, even when one waits on a recursor.
    let chain: Promise<void> = Promise.resolve();
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) return;
        const msg = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        const pending = this.reply(msg, 'tcp');
        chain = chain.then(async () => {
          const out = await pending;
          if (!out) {
            c.destroy();
            return;
          }
          const head = Buffer.alloc(2);
          head.writeUInt16BE(out.length);
          c.write(Buffer.concat([head, out]));
        });
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.udp) s.close();
    for (const c of this.conns) c.destroy();
    await Promise.all(this.tcp.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.udp.length = 0;
    this.tcp.length = 0;
  }
}
