// Nothing a client sends may crash, stall or bloat the DNS interface: out-of-range ports and
// weights, addresses that are not IPs, huge TTLs, malformed packets, pipelined queries that are
// never read, and connections that trickle. All over real sockets against in-process agents.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { DecodedPacket, Packet, SrvAnswer } from 'dns-packet';
import dnsPacket from 'dns-packet';
import { configFromObject } from '../../src/config/index.js';
import { goUint16, goUint32 } from '../../src/dns/resolve.js';
import { DNS_TCP_MAX_CONNS, DNS_TCP_MAX_CONNS_PER_IP, DNS_TCP_MAX_QUERIES, DnsServer } from '../../src/dns/server.js';
import type { RegisterRequest } from '../../src/state/catalog-types.js';
import type { Logger } from '../../src/util/log.js';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { udpRaw } from '../helpers/dns.js';
import { catalogRegister, client } from '../helpers/http.js';

type Reply = DecodedPacket & { rcode: string };
type QType = 'A' | 'AAAA' | 'SRV' | 'PTR' | 'TXT';
const PORTS = { http: 0, https: -1, dns: 0, serfLan: -1, serfWan: -1, server: -1, grpc: -1 };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function query(name: string, type: QType, id = 4242): Buffer {
  const p: Packet = { type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] };
  return dnsPacket.encode(p);
}

function dnsPort(t: TestAgent): number {
  const a = t.agent.dnsAddrs[0]!;
  return Number(a.slice(a.lastIndexOf(':') + 1));
}

async function udp(port: number, name: string, type: QType): Promise<Reply> {
  const r = await udpRaw(port, query(name, type));
  assert.ok(r, `no UDP answer for ${name} ${type}`);
  return dnsPacket.decode(r) as Reply;
}

/**
 * Sends one framed message over a new TCP connection: resolves with the raw reply, or null when
 * the server closes the connection (or says nothing in time) instead.
 */
function tcpRaw(port: number, msg: Buffer, waitMs = 3000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const done = (b: Buffer | null): void => {
      clearTimeout(timer);
      c.destroy();
      resolve(b);
    };
    const timer = setTimeout(() => done(null), waitMs);
    c.on('error', () => done(null));
    c.on('close', () => done(null));
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    const head = Buffer.alloc(2);
    head.writeUInt16BE(msg.length);
    c.write(Buffer.concat([head, msg]));
  });
}

async function tcp(port: number, name: string, type: QType): Promise<Reply> {
  const r = await tcpRaw(port, query(name, type));
  assert.ok(r, `no TCP answer for ${name} ${type}`);
  return dnsPacket.decode(r) as Reply;
}

const srv = (r: Reply): [number, number][] =>
  (r.answers ?? [])
    .filter((a): a is SrvAnswer => a.type === 'SRV')
    .map((a): [number, number] => [a.data.port, a.data.weight ?? -1])
    .sort((a, b) => a[0] - b[0]);

/** The answering server is still up: a plain question gets its answer over both transports. */
async function stillAnswers(port: number): Promise<void> {
  assert.equal((await udp(port, 'consul.service.consul', 'A')).rcode, 'NOERROR');
  assert.equal((await tcp(port, 'consul.service.consul', 'A')).rcode, 'NOERROR');
}

describe('DNS hardening: bad registered values', () => {
  let t: TestAgent;
  let port: number;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent({ nodeName: 'vm', ports: PORTS });
    port = dnsPort(t);
    api = client(t.base);
  });
  after(() => t.stop());

  it('answers SRV for out-of-range ports as Consul does (uint16 of the int), never crashing', async () => {
    // Consul decodes Port into an int and stores it unchecked: so does the catalog here.
    await catalogRegister(api, { Node: 'p1', Address: '192.0.2.1', Service: { ID: 'big', Service: 'odd', Port: 70000 } });
    await catalogRegister(api, { Node: 'p2', Address: '192.0.2.2', Service: { ID: 'neg', Service: 'odd', Port: -1 } });
    const stored = await api.get('/v1/catalog/service/odd');
    assert.deepEqual(stored.json<{ ServicePort: number }[]>().map((s) => s.ServicePort).sort((a, b) => a - b), [-1, 70000]);
    for (const r of [await udp(port, 'odd.service.consul', 'SRV'), await tcp(port, 'odd.service.consul', 'SRV')]) {
      assert.equal(r.rcode, 'NOERROR');
      assert.deepEqual(srv(r), [
        [4464, 1],
        [65535, 1],
      ]);
    }
    assert.equal(goUint16(70000), 4464);
    assert.equal(goUint16(-1), 65535);
    await stillAnswers(port);
  });

  it('stores weights Consul would not accept as 1/1 (catalog) or refuses them (agent endpoint)', async () => {
    await catalogRegister(api, { Node: 'w1', Address: '192.0.2.3', Service: { ID: 'heavy', Service: 'heavy', Port: 80, Weights: { Passing: 70000, Warning: 1 } } });
    const stored = await api.get('/v1/catalog/service/heavy');
    assert.deepEqual(stored.json<{ ServiceWeights: unknown }[]>()[0]?.ServiceWeights, { Passing: 1, Warning: 1 });
    for (const r of [await udp(port, 'heavy.service.consul', 'SRV'), await tcp(port, 'heavy.service.consul', 'SRV')]) assert.deepEqual(srv(r), [[80, 1]]);
    const refused = await api.put('/v1/agent/service/register', { Name: 'heavy2', Port: 81, Weights: { Passing: 70000, Warning: 1 } });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /Invalid Weights: DNS Weight must be between 0 and 65535/);
    // Through a transaction the same decoding applies.
    const txn = await api.put('/v1/txn', [{ Service: { Verb: 'set', Node: 'w1', Service: { ID: 'heavy-t', Service: 'heavy', Port: 82, Weights: { Passing: 99999, Warning: 1 } } } }]);
    assert.equal(txn.status, 200);
    const r = await udp(port, 'heavy.service.consul', 'SRV');
    assert.deepEqual(srv(r), [
      [80, 1],
      [82, 1],
    ]);
  });

  it('never crashes on values already stored out of range (an older data dir or a snapshot)', async () => {
    // Straight into the log, past every registration check, as an old snapshot would restore.
    const req = {
      Node: 'old',
      ID: '',
      Datacenter: 'dc1',
      Address: '192.0.2.9',
      TaggedAddresses: {},
      NodeMeta: {},
      SkipNodeUpdate: false,
      Checks: [],
      Service: { Kind: '', ID: 'legacy', Service: 'legacy', Tags: [], Address: '', Meta: {}, Port: 131072 + 53, SocketPath: '', Weights: { Passing: 65536 + 7, Warning: -1 }, EnableTagOverride: false, Proxy: {}, Connect: {} },
    } as unknown as RegisterRequest;
    await t.agent.server.propose({ type: 'register', req });
    const noWeights = structuredClone(req) as unknown as { Service: Record<string, unknown> };
    noWeights.Service.ID = 'legacy2';
    delete noWeights.Service.Weights;
    noWeights.Service.Port = 2.5;
    await t.agent.server.propose({ type: 'register', req: noWeights as unknown as RegisterRequest });
    for (const r of [await udp(port, 'legacy.service.consul', 'SRV'), await tcp(port, 'legacy.service.consul', 'SRV')]) {
      assert.equal(r.rcode, 'NOERROR');
      assert.deepEqual(srv(r), [
        [2, 1],
        [53, 7],
      ]);
    }
    await stillAnswers(port);
  });

  it('skips addresses that are not IPs in reverse lookups (ip6.arpa and in-addr.arpa)', async () => {
    await catalogRegister(api, { Node: 'junk', Address: '1:2:3:4:5::6:7:8:9', Service: { ID: 'j', Service: 'junk-svc', Address: 'not::an::ip', Port: 1 } });
    await catalogRegister(api, { Node: 'host', Address: 'host.example.com' });
    await catalogRegister(api, { Node: 'six', Address: '2001:db8::1' });
    await catalogRegister(api, { Node: 'mapped', Address: '::ffff:192.0.2.44' });
    const nibbles = (hex: string): string => `${hex.split('').reverse().join('.')}.ip6.arpa`;
    const names = [nibbles('00010002000300040005000600070008'), nibbles('20010db8000000000000000000000001'), '1.0.0.127.in-addr.arpa'];
    for (const name of names) {
      for (const r of [await udp(port, name, 'PTR'), await tcp(port, name, 'PTR')]) assert.ok(r.rcode === 'NOERROR' || r.rcode === 'NXDOMAIN', name);
    }
    const six = await udp(port, names[1]!, 'PTR');
    assert.deepEqual(
      (six.answers ?? []).map((a) => (a.type === 'PTR' ? a.data : '')),
      ['six.node.dc1.consul'],
    );
    assert.equal((await udp(port, names[0]!, 'PTR')).rcode, 'NXDOMAIN');
    const mapped = await udp(port, nibbles('00000000000000000000ffffc000022c'), 'PTR');
    assert.deepEqual(
      (mapped.answers ?? []).map((a) => (a.type === 'PTR' ? a.data : '')),
      ['mapped.node.dc1.consul'],
    );
    // The node itself still answers (no address record for what is not an IP).
    assert.equal((await udp(port, 'junk.node.consul', 'A')).rcode, 'NOERROR');
    assert.equal((await udp(port, 'junk-svc.service.consul', 'SRV')).rcode, 'NOERROR');
    await stillAnswers(port);
  });
});

describe('DNS hardening: TTLs', () => {
  it('refuses TTLs beyond a Go duration at startup, as Consul (time.ParseDuration)', () => {
    assert.throws(() => configFromObject({ dns_config: { service_ttl: { '*': '99999999h' } }, data_dir: '/x' }), /dns_config\.service_ttl\.\*: time: invalid duration "99999999h"/);
    assert.throws(() => configFromObject({ dns_config: { node_ttl: '99999999h' }, data_dir: '/x' }), /dns_config\.node_ttl: time: invalid duration "99999999h"/);
    assert.throws(() => configFromObject({ dns_config: { soa: { refresh: 2 ** 32 } }, data_dir: '/x' }), /dns_config\.soa\.refresh/);
    // The largest Go duration still parses.
    assert.equal(Math.floor(configFromObject({ dns_config: { node_ttl: '2562047h' }, data_dir: '/x' }).dns.nodeTTL), 2562047 * 3600);
  });

  it('answers TTLs that parse but exceed uint32 seconds wrapped, as uint32(ttl / time.Second)', async () => {
    const c = configFromObject({ dns_config: { node_ttl: '2000000h', service_ttl: { '*': '2000000h' } }, data_dir: '/x' });
    const t = await startAgent({ nodeName: 'vm', dns: c.dns, ports: PORTS });
    try {
      const port = dnsPort(t);
      const wrapped = (2_000_000 * 3600) % 2 ** 32;
      assert.equal(goUint32(2_000_000 * 3600), wrapped);
      await catalogRegister(client(t.base), { Node: 'n1', Address: '192.0.2.5', Service: { ID: 's', Service: 's', Port: 5 } });
      for (const r of [await udp(port, 's.service.consul', 'SRV'), await tcp(port, 's.service.consul', 'SRV'), await udp(port, 'n1.node.consul', 'A'), await udp(port, '5.2.0.192.in-addr.arpa', 'PTR')]) {
        assert.equal(r.rcode, 'NOERROR');
        const first = r.answers?.[0];
        assert.equal(first && first.type !== 'OPT' ? first.ttl : -1, wrapped);
      }
      // Stored out of range in the live config (not from the parser): still no crash.
      c.dns.nodeTTL = -1;
      const neg = (await udp(port, 'n1.node.consul', 'A')).answers?.[0];
      assert.equal(neg && neg.type !== 'OPT' ? neg.ttl : -1, 2 ** 32 - 1);
    } finally {
      await t.stop();
    }
  });
});

/** A header: id, flags, and the four counts. */
function header(id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): Buffer {
  const b = Buffer.alloc(12);
  for (const [i, v] of [id, flags, qd, an, ns, ar].entries()) b.writeUInt16BE(v, i * 2);
  return b;
}

describe('DNS hardening: malformed messages', () => {
  let t: TestAgent;
  let port: number;
  before(async () => {
    t = await startAgent({ nodeName: 'vm', ports: PORTS });
    port = dnsPort(t);
  });
  after(() => t.stop());

  const rcodeOf = (b: Buffer): number => b.readUInt16BE(2) & 0xf;
  const question = (name: Buffer): Buffer => Buffer.concat([name, Buffer.from([0, 1, 0, 1])]);
  // A name that points forward (to itself at offset 12, or past it): must not loop.
  const selfPointer = Buffer.concat([header(7, 0x0100, 1), question(Buffer.from([0xc0, 12]))]);
  const forwardPointer = Buffer.concat([header(8, 0x0100, 1), question(Buffer.from([0xc0, 40])), Buffer.alloc(30)]);
  const cases: [string, Buffer, number | null][] = [
    ['empty', Buffer.alloc(0), null],
    ['truncated header', Buffer.from([1, 2, 3, 4, 5]), null],
    ['a response', Buffer.concat([header(1, 0x8000, 1), question(Buffer.from([0]))]), null],
    ['zero questions', header(2, 0x0100, 0), 1],
    ['many questions', Buffer.concat([header(3, 0x0100, 3), question(Buffer.from([0])), question(Buffer.from([0])), question(Buffer.from([0]))]), 1],
    ['huge counts', header(4, 0x0100, 1, 65535, 65535, 65535), 1],
    ['question count beyond the data', Buffer.concat([header(5, 0x0100, 1)]), 1],
    ['label beyond the data', Buffer.concat([header(6, 0x0100, 1), Buffer.from([63, 97, 97])]), 1],
    ['self pointer', selfPointer, 1],
    ['forward pointer', forwardPointer, 1],
    ['opcode STATUS', Buffer.concat([header(9, 0x1100, 1), question(Buffer.from([0]))]), 4],
  ];

  it('answers FORMERR/NOTIMP or drops, over UDP, and stays up', async () => {
    for (const [name, msg, rcode] of cases) {
      const r = await udpRaw(port, msg, rcode === null ? 300 : 2000);
      if (rcode === null) assert.equal(r, null, name);
      else {
        assert.ok(r, name);
        assert.equal(rcodeOf(r), rcode, name);
        assert.equal(r.readUInt16BE(0), msg.readUInt16BE(0), `${name}: id echoed`);
        assert.ok((r.readUInt16BE(2) & 0x8000) !== 0, `${name}: a response`);
      }
    }
    await stillAnswers(port);
  });

  it('answers FORMERR/NOTIMP or closes, over TCP, and stays up', async () => {
    for (const [name, msg, rcode] of cases) {
      const r = await tcpRaw(port, msg);
      if (rcode === null) assert.equal(r, null, name);
      else {
        assert.ok(r, name);
        assert.equal(rcodeOf(r), rcode, name);
      }
    }
    // A length prefix promising more than ever comes, then silence: closed by the read timeout.
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => undefined);
    c.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
    await new Promise<void>((r) => c.on('close', () => r()));
    await stillAnswers(port);
  });

  it('survives random bytes over UDP and TCP', async () => {
    // Deterministic junk (an LCG), so a failure can be replayed.
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const junk = (): Buffer => Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
    const sends: Promise<Buffer | null>[] = [];
    for (let i = 0; i < 300; i++) sends.push(udpRaw(port, junk(), 300));
    await Promise.all(sends);
    for (let i = 0; i < 20; i++) await tcpRaw(port, junk(), 500);
    // Junk that looks like a query header with a random body.
    for (let i = 0; i < 200; i++) {
      const body = junk();
      await udpRaw(port, Buffer.concat([header(i, 0x0100, 1, 0, 0, Math.floor(rand() * 3)), body]), 200);
    }
    await stillAnswers(port);
  });
});

/** A Logger that keeps its lines. */
function recordingLogger(lines: string[]): Logger {
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  const l: Logger = { tap: () => () => undefined, trace: log('TRACE'), debug: () => undefined, info: log('INFO'), warn: log('WARN'), error: log('ERR'), named: () => l };
  return l;
}

describe('DNS hardening: a failing question fails alone', () => {
  it('answers SERVFAIL with the question echoed and logs one line when resolving throws', async () => {
    const lines: string[] = [];
    const ok = await startAgent({ nodeName: 'vm', ports: PORTS });
    let calls = 0;
    const server = new DnsServer({
      hosts: ['127.0.0.1'],
      port: 0,
      logger: recordingLogger(lines),
      recursors: [],
      context: () => {
        if (++calls % 2 === 1) throw new Error('boom');
        return { catalog: ok.agent.server.store.catalog, datacenter: 'dc1', domain: 'consul.', dns: ok.agent.config.dns };
      },
    });
    const [addr] = await server.listen();
    const port = Number(addr!.slice(addr!.lastIndexOf(':') + 1));
    try {
      for (const send of [udpRaw, tcpRaw]) {
        const failed = await send(port, query('consul.service.consul', 'A', 99));
        assert.ok(failed);
        const r = dnsPacket.decode(failed) as Reply;
        assert.equal(r.rcode, 'SERVFAIL');
        assert.equal(r.id, 99);
        assert.deepEqual(
          (r.questions ?? []).map((q) => [q.name, q.type]),
          [['consul.service.consul', 'A']],
        );
        // The next question is answered normally.
        const fine = await send(port, query('consul.service.consul', 'A'));
        assert.equal((dnsPacket.decode(fine!) as Reply).rcode, 'NOERROR');
      }
      assert.equal(lines.filter((l) => l.includes('boom')).length, 2, 'one line per failed question');
      assert.equal(server.stats.servFail, 2);
    } finally {
      await server.close();
      await ok.stop();
    }
  });

  it('answers SERVFAIL when recursors send replies that do not parse, or cannot be reached', async () => {
    const junkServer = dgram.createSocket('udp4');
    junkServer.on('message', (_m, r) => junkServer.send(Buffer.from([1, 2, 3]), r.port, r.address));
    await new Promise<void>((r) => junkServer.bind(0, '127.0.0.1', r));
    const t = await startAgent({ nodeName: 'vm', ports: PORTS, recursors: [`127.0.0.1:${junkServer.address().port}`, '127.0.0.1:99999'] });
    try {
      const port = dnsPort(t);
      const r = await udp(port, 'example.com', 'A');
      assert.equal(r.rcode, 'SERVFAIL');
      await stillAnswers(port);
    } finally {
      await t.stop();
      junkServer.close();
    }
  });
});

describe('DNS hardening: TCP resources', () => {
  let t: TestAgent;
  let port: number;
  before(async () => {
    t = await startAgent({ nodeName: 'vm', ports: PORTS });
    port = dnsPort(t);
    const api = client(t.base);
    for (let i = 0; i < 6; i++) await catalogRegister(api, { Node: `w${i}`, Address: `10.0.0.${i + 1}`, Service: { ID: 'web', Service: 'web', Port: 80 } });
  });
  after(() => t.stop());

  const stats = (): NonNullable<TestAgent['agent']['dnsStats']> => t.agent.dnsStats!;
  async function until(cond: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) return false;
      await sleep(50);
    }
    return true;
  }

  it('bounds a client that pipelines 10,000 queries and never reads', async () => {
    global.gc?.();
    const before = process.memoryUsage().rss;
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => undefined);
    await new Promise<void>((r) => c.once('connect', () => r()));
    // Never read: no 'data' listener, and the socket's own reading stopped.
    c.pause();
    const msgs: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) msgs.push(dnsPacket.streamEncode({ type: 'query', id: i, flags: 0, questions: [{ type: 'SRV', name: 'web.service.consul' }] }));
    c.write(Buffer.concat(msgs));
    // Other clients are answered meanwhile.
    await stillAnswers(port);
    // The server answers at most DNS_TCP_MAX_QUERIES, then closes the connection.
    assert.ok(await until(() => stats().tcpOpen === 0, 15_000), 'the pipelining connection is closed');
    const grown = process.memoryUsage().rss - before;
    assert.ok(grown < 100 * 1024 * 1024, `rss grew by ${Math.round(grown / 1048576)} MB`);
    assert.ok(stats().tcpPeak >= 1 && DNS_TCP_MAX_QUERIES === 128);
    await stillAnswers(port);
    c.destroy();
  });

  it('caps connections (total and per client address), closes trickling ones by age, and HTTP keeps answering', async () => {
    const refusedBefore = stats().tcpRefused;
    const timedOutBefore = stats().tcpTimedOut;
    const sockets: net.Socket[] = [];
    const closed = new Set<net.Socket>();
    const trickle = setInterval(() => {
      // One byte of a never-completed query every few hundred ms: never silent, never done.
      for (const s of sockets) if (!closed.has(s) && !s.destroyed) s.write(Buffer.from([0xff]));
    }, 300);
    try {
      // 300 connections from five loopback addresses (60 each: under the per-address cap).
      await Promise.all(
        Array.from({ length: 300 }, (_, i) => {
          const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${1 + (i % 5)}` });
          sockets.push(s);
          s.on('error', () => undefined);
          s.on('data', () => undefined);
          s.on('close', () => closed.add(s));
          return new Promise<void>((r) => {
            s.once('connect', () => r());
            s.once('close', () => r());
          });
        }),
      );
      // While they trickle: HTTP and DNS still answer.
      const api = client(t.base);
      assert.equal((await api.get('/v1/status/leader')).status, 200);
      assert.equal((await udp(port, 'web.service.consul', 'A')).rcode, 'NOERROR');
      // The client sees 'connect' before the server accepts: wait for the server's side.
      assert.ok(await until(() => stats().tcpRefused > refusedBefore, 5000), 'connections beyond the cap are refused');
      // Every one is closed: refused at once, or by age (the first query never completes).
      assert.ok(await until(() => closed.size === 300, 20_000), `${closed.size} of 300 closed`);
      assert.ok(stats().tcpTimedOut > timedOutBefore, 'trickling connections time out');
      assert.ok(await until(() => stats().tcpOpen === 0, 5000));
      assert.ok(stats().tcpPeak <= DNS_TCP_MAX_CONNS, `peak ${stats().tcpPeak}`);
      assert.equal((await api.get('/v1/status/leader')).status, 200);

      // From one address, no more than the per-address cap at once.
      const refusedMid = stats().tcpRefused;
      const one: net.Socket[] = [];
      await Promise.all(
        Array.from({ length: DNS_TCP_MAX_CONNS_PER_IP + 16 }, () => {
          const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.9' });
          one.push(s);
          s.on('error', () => undefined);
          return new Promise<void>((r) => {
            s.once('connect', () => r());
            s.once('close', () => r());
          });
        }),
      );
      assert.ok(await until(() => stats().tcpRefused > refusedMid, 5000), 'beyond the per-address cap is refused');
      for (const s of one) s.destroy();
      await until(() => stats().tcpOpen === 0, 5000);
    } finally {
      clearInterval(trickle);
      for (const s of sockets) s.destroy();
    }
    await stillAnswers(port);
  });
});
