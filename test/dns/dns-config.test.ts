// dns_config options and recursors: only_passing, TTLs, answer limits and truncation, the SOA,
// and forwarding names outside the domain (and reverse misses) to upstream servers.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { DecodedPacket, Packet } from 'dns-packet';
import dnsPacket from 'dns-packet';
import { configFromObject } from '../../src/config/index.js';
import { serviceTTL } from '../../src/dns/resolve.js';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

type Reply = DecodedPacket & { rcode: string };

function ask(port: number, name: string, type: 'A' | 'SRV' | 'PTR' | 'SOA', transport: 'udp' | 'tcp' = 'udp'): Promise<Reply> {
  const q: Packet = { type: 'query', id: 42, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer')), 3000);
    if (transport === 'udp') {
      const s = dgram.createSocket('udp4');
      s.on('message', (m) => {
        clearTimeout(timer);
        s.close();
        resolve(dnsPacket.decode(m) as Reply);
      });
      s.send(dnsPacket.encode(q), port, '127.0.0.1');
    } else {
      const c = net.connect(port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      c.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          clearTimeout(timer);
          c.end();
          resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as Reply);
        }
      });
      c.write(dnsPacket.streamEncode(q));
    }
  });
}

/** A tiny upstream DNS server (UDP and TCP on one port) that knows example.com and one PTR. */
async function upstream(): Promise<{ port: number; asked: string[]; close(): Promise<void> }> {
  const asked: string[] = [];
  const respond = (msg: Buffer): Buffer => {
    const req = dnsPacket.decode(msg);
    const q = req.questions?.[0];
    asked.push(q?.name ?? '');
    const answers: Packet['answers'] = [];
    if (q?.name === 'example.com') answers.push({ type: 'A', name: 'example.com', ttl: 60, data: '93.184.216.34' });
    if (q?.name === '9.9.9.9.in-addr.arpa') answers.push({ type: 'PTR', name: q.name, ttl: 60, data: 'dns9.quad9.net' });
    return dnsPacket.encode({ type: 'response', id: req.id ?? 0, flags: answers.length ? 0 : 3, questions: req.questions ?? [], answers });
  };
  // UDP picks a free port; TCP must get the same one, which may be taken: then try again.
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    udp.on('message', (m, r) => udp.send(respond(m), r.port, r.address));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const port = udp.address().port;
    const tcp = net.createServer((c) => {
      c.on('data', (d: Buffer) => {
        const out = respond(d.subarray(2, 2 + d.readUInt16BE(0)));
        const head = Buffer.alloc(2);
        head.writeUInt16BE(out.length);
        c.end(Buffer.concat([head, out]));
      });
    });
    const ok = await new Promise<boolean>((r) => {
      tcp.once('error', () => r(false));
      tcp.listen(port, '127.0.0.1', () => r(true));
    });
    if (!ok && attempt < 10) {
      udp.close();
      continue;
    }
    assert.ok(ok, 'no port free for both UDP and TCP');
    return { port, asked, close: () => new Promise<void>((r) => { udp.close(); tcp.close(() => r()); }) };
  }
}

describe('dns_config and recursors', () => {
  let t: TestAgent;
  let port: number;
  let up: Awaited<ReturnType<typeof upstream>>;
  before(async () => {
    up = await upstream();
    const base = configFromObject({ dns_config: { only_passing: true, node_ttl: '30s', service_ttl: { '*': '5s', 'web*': '10s' }, udp_answer_limit: 2, a_record_limit: 4, enable_truncate: true, soa: { min_ttl: 7, refresh: 100 } }, recursors: [`127.0.0.1:${up.port}`], data_dir: '/unused' });
    t = await startAgent({ nodeName: 'vm', dns: base.dns, recursors: base.recursors, ports: { http: 0, https: -1, dns: 0, serfLan: -1, serfWan: -1, server: -1, grpc: -1 } });
    const a = t.agent.dnsAddrs[0]!;
    port = Number(a.slice(a.lastIndexOf(':') + 1));
    const api = client(t.base);
    for (let i = 0; i < 6; i++) await api.put('/v1/catalog/register', { Node: `w${i}`, Address: `10.0.0.${i + 1}`, Service: { ID: 'web', Service: 'web', Port: 80 } });
    await api.put('/v1/catalog/register', { Node: 'x1', Address: '10.1.0.1', Service: { ID: 'api', Service: 'api', Port: 81 }, Checks: [{ CheckID: 'a1', ServiceID: 'api', Status: 'passing' }] });
    await api.put('/v1/catalog/register', { Node: 'x2', Address: '10.1.0.2', Service: { ID: 'api', Service: 'api', Port: 81 }, Checks: [{ CheckID: 'a2', ServiceID: 'api', Status: 'warning' }] });
  });
  after(async () => {
    await t.stop();
    await up.close();
  });

  it('parses dns_config and recursors from configuration', () => {
    const c = configFromObject({ dns_config: { only_passing: true, service_ttl: { '*': '1m' } }, recursors: ['8.8.8.8'], recursor: '1.1.1.1', data_dir: '/x' });
    assert.equal(c.dns.onlyPassing, true);
    assert.equal(c.dns.serviceTTL['*'], 60);
    assert.deepEqual(c.recursors, ['8.8.8.8', '1.1.1.1']);
    assert.equal(serviceTTL({ ...c.dns, serviceTTL: { '*': 5, 'web*': 10, 'web-admin': 1 } }, 'web-front'), 10);
    assert.equal(serviceTTL({ ...c.dns, serviceTTL: { '*': 5, 'web*': 10, 'web-admin': 1 } }, 'web-admin'), 1);
    assert.equal(serviceTTL({ ...c.dns, serviceTTL: { '*': 5 } }, 'db'), 5);
  });

  it('serves only passing instances with only_passing, with service and node TTLs', async () => {
    const api = await ask(port, 'api.service.consul', 'A');
    assert.deepEqual(
      (api.answers ?? []).map((a) => (a.type === 'A' ? [a.data, a.ttl] : null)),
      [['10.1.0.1', 5]],
    );
    const node = await ask(port, 'x1.node.consul', 'A');
    const a = node.answers?.[0];
    assert.equal(a?.type === 'A' ? a.ttl : -1, 30);
  });

  it('applies a_record_limit everywhere and udp_answer_limit with TC over UDP', async () => {
    const overUDP = await ask(port, 'web.service.consul', 'A');
    assert.equal(overUDP.answers?.length, 2);
    assert.equal(overUDP.flag_tc, true);
    const first = overUDP.answers?.[0];
    assert.equal(first?.type === 'A' ? first.ttl : -1, 10);
    const overTCP = await ask(port, 'web.service.consul', 'A', 'tcp');
    assert.equal(overTCP.answers?.length, 4);
    assert.equal(overTCP.flag_tc, false);
  });

  it('uses the configured SOA', async () => {
    const r = await ask(port, 'nosuch.service.consul', 'A');
    const soa = r.authorities?.[0];
    assert.equal(soa?.type, 'SOA');
    if (soa?.type === 'SOA') {
      assert.equal(soa.ttl, 7);
      assert.equal(soa.data.minimum, 7);
      assert.equal(soa.data.refresh, 100);
    }
  });

  it('forwards other names and reverse misses to the recursors, over UDP and TCP', async () => {
    for (const transport of ['udp', 'tcp'] as const) {
      const r = await ask(port, 'example.com', 'A', transport);
      assert.equal(r.rcode, 'NOERROR');
      assert.equal(r.answers?.[0]?.type === 'A' ? r.answers[0].data : '', '93.184.216.34');
    }
    const ptr = await ask(port, '9.9.9.9.in-addr.arpa', 'PTR');
    assert.equal(ptr.answers?.[0]?.type === 'PTR' ? ptr.answers[0].data : '', 'dns9.quad9.net');
    assert.ok(up.asked.includes('example.com'));
    // Names in the domain are never forwarded, and answers say recursion is available.
    const own = await ask(port, 'web.service.consul', 'A');
    assert.equal(own.flag_ra, true);
    assert.ok(!up.asked.includes('web.service.consul'));
    const nx = await ask(port, 'nowhere.example', 'A');
    assert.equal(nx.rcode, 'NXDOMAIN', 'the upstream answer comes back as it is');
  });
});
