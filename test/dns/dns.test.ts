// The DNS interface over real UDP and TCP sockets: service, node, addr and reverse lookups as
// Consul 1.10 answers them (see the transcript's DNS section), health filtering, NXDOMAIN with
// the SOA, EDNS, UDP trimming and TCP framing.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { DecodedPacket, Packet, SrvAnswer, StringAnswer, TxtAnswer } from 'dns-packet';
import dnsPacket from 'dns-packet';
import { ipToHex, parseLookup, parseReverse } from '../../src/dns/query.js';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { catalogRegister, client } from '../helpers/http.js';

type QType = 'A' | 'AAAA' | 'SRV' | 'TXT' | 'PTR' | 'SOA' | 'NS' | 'ANY';
/** dns-packet decodes the rcode too; its types leave it out. */
type Reply = DecodedPacket & { rcode: string };
const decode = (b: Buffer): Reply => dnsPacket.decode(b) as Reply;

function query(name: string, type: QType, edns = false): Packet {
  return {
    type: 'query',
    id: Math.floor(Math.random() * 65535),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as 'A', name }],
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  };
}

function udp(port: number, name: string, type: QType, edns = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('no DNS answer'));
    }, 2000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(decode(m));
    });
    s.send(dnsPacket.encode(query(name, type, edns)), port, '127.0.0.1');
  });
}

/** Sends several queries on one TCP connection and reads as many answers. */
function tcp(port: number, questions: [string, QType][]): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const out: Reply[] = [];
    c.on('error', reject);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        out.push(decode(buf.subarray(2, 2 + len)));
        buf = buf.subarray(2 + len);
      }
      if (out.length === questions.length) {
        c.end();
        resolve(out);
      }
    });
    for (const [name, type] of questions) c.write(dnsPacket.streamEncode(query(name, type)));
  });
}

const strings = (r: DecodedPacket, type: string): string[] =>
  (r.answers ?? [])
    .filter((a): a is StringAnswer => a.type === type)
    .map((a) => a.data)
    .sort();

describe('DNS interface', () => {
  let t: TestAgent;
  let port: number;
  before(async () => {
    t = await startAgent({ nodeName: 'vm', ports: { http: 0, https: -1, dns: 0, serfLan: -1, serfWan: -1, server: -1, grpc: -1 } });
    const a = t.agent.dnsAddrs[0]!;
    port = Number(a.slice(a.lastIndexOf(':') + 1));
    const api = client(t.base);
    const reg = (body: object): Promise<void> => catalogRegister(api, body);
    await reg({ Node: 'vm', Address: '127.0.0.1', NodeMeta: { rack: 'r1' }, Service: { ID: 'cache', Service: 'cache', Port: 6379, Tags: ['primary'] } });
    await reg({ Node: 'far', Address: '192.0.2.7', Service: { ID: 'cache2', Service: 'cache', Address: '192.0.2.70', Port: 6380, Weights: { Passing: 5, Warning: 2 } } });
    await reg({ Node: 'sick', Address: '192.0.2.9', Service: { ID: 'cache3', Service: 'cache', Port: 6381 }, Checks: [{ CheckID: 'c3', ServiceID: 'cache3', Status: 'critical' }] });
    await reg({ Node: 'dead', Address: '192.0.2.10', Service: { ID: 'db', Service: 'db', Port: 5432 }, Checks: [{ CheckID: 'db-ok', ServiceID: 'db', Status: 'critical' }] });
    for (let i = 0; i < 6; i++) await reg({ Node: `w${i}`, Address: `10.0.0.${i + 1}`, Service: { ID: 'web', Service: 'web', Port: 80 } });
    await reg({ Node: 'warn', Address: '10.0.0.99', Service: { ID: 'api', Service: 'api', Port: 81 }, Checks: [{ CheckID: 'api-w', ServiceID: 'api', Status: 'warning' }] });
    await reg({ Node: 'w0', Address: '10.0.0.1', Service: { ID: 'web-proxy', Service: 'web-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'web' } } });
  });
  after(() => t.stop());

  it('answers SRV with node or addr targets and the addresses as extra records', async () => {
    const r = await udp(port, 'cache.service.consul', 'SRV', true);
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.flag_aa, true);
    const srv = (r.answers ?? []).filter((a): a is SrvAnswer => a.type === 'SRV').sort((a, b) => a.data.port - b.data.port);
    assert.deepEqual(
      srv.map((a) => [a.name, a.data.priority, a.data.weight, a.data.port, a.data.target]),
      [
        ['cache.service.consul', 1, 1, 6379, 'vm.node.dc1.consul'],
        ['cache.service.consul', 1, 5, 6380, 'c0000246.addr.dc1.consul'],
      ],
      'the critical instance is left out; weights come from Weights.Passing',
    );
    const extra = (r.additionals ?? []).map((a) => `${a.name} ${a.type}`).sort();
    assert.deepEqual(extra, ['. OPT', 'c0000246.addr.dc1.consul A', 'vm.node.dc1.consul A', 'vm.node.dc1.consul TXT']);
    const txt = (r.additionals ?? []).find((a): a is TxtAnswer => a.type === 'TXT');
    assert.deepEqual((txt?.data as Buffer[]).map(String), ['rack=r1']);
  });

  it('answers A for tagged, RFC 2782 and plain service names, and the consul service', async () => {
    assert.deepEqual(strings(await udp(port, 'primary.cache.service.consul', 'A'), 'A'), ['127.0.0.1']);
    assert.deepEqual(strings(await udp(port, 'cache.service.dc1.consul', 'A'), 'A'), ['127.0.0.1', '192.0.2.70']);
    assert.deepEqual(strings(await udp(port, 'CACHE.Service.Consul', 'A'), 'A'), ['127.0.0.1', '192.0.2.70']);
    const rfc = await udp(port, '_cache._primary.service.consul', 'SRV');
    assert.equal(rfc.answers?.length, 1);
    assert.equal((await udp(port, '_cache._tcp.service.consul', 'SRV')).answers?.length, 2);
    assert.deepEqual(strings(await udp(port, 'consul.service.consul', 'A'), 'A'), ['127.0.0.1']);
    // Consul answers a TXT question on a service with its A records.
    assert.deepEqual(strings(await udp(port, 'cache.service.consul', 'TXT'), 'A'), ['127.0.0.1', '192.0.2.70']);
    // Warning instances are still served (only_passing is off by default).
    assert.deepEqual(strings(await udp(port, 'api.service.consul', 'A'), 'A'), ['10.0.0.99']);
  });

  it('answers <service>.connect with the proxies fronting it', async () => {
    const r = await udp(port, 'web.connect.consul', 'SRV', true);
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(
      (r.answers ?? []).map((a) => (a.type === 'SRV' ? [a.data.port, a.data.target] : null)),
      [[21000, 'w0.node.dc1.consul']],
    );
    assert.equal((await udp(port, 'db.connect.consul', 'A')).rcode, 'NXDOMAIN');
    assert.deepEqual(parseLookup('web.connect.dc1'), { kind: 'service', service: 'web', tag: '', dc: 'dc1', connect: true });
  });

  it('answers NXDOMAIN with the SOA for what does not exist or is not healthy', async () => {
    for (const name of ['db.service.consul', 'nosuch.service.consul', 'nosuch.node.consul', 'x.query.consul']) {
      const r = await udp(port, name, 'A');
      assert.equal(r.rcode, 'NXDOMAIN', name);
      assert.equal(r.flag_aa, true);
      assert.equal(r.answers?.length, 0);
      const soa = r.authorities?.[0];
      assert.equal(soa?.type, 'SOA');
      assert.equal(soa?.name, 'consul');
      if (soa?.type === 'SOA') {
        assert.equal(soa.data.mname, 'ns.consul');
        assert.equal(soa.data.rname, 'hostmaster.consul');
        assert.deepEqual([soa.data.refresh, soa.data.retry, soa.data.expire, soa.data.minimum], [3600, 600, 86400, 0]);
      }
    }
  });

  it('answers node lookups with the address, and meta as TXT for TXT and ANY', async () => {
    assert.deepEqual(strings(await udp(port, 'far.node.consul', 'ANY'), 'A'), ['192.0.2.7']);
    const vm = await udp(port, 'vm.node.dc1.consul', 'ANY');
    assert.deepEqual(
      (vm.answers ?? []).map((a) => a.type),
      ['A', 'TXT'],
    );
    const a = await udp(port, 'vm.node.consul', 'A');
    assert.deepEqual(
      (a.answers ?? []).map((x) => x.type),
      ['A'],
    );
    assert.deepEqual(
      (a.additionals ?? []).map((x) => x.type),
      ['TXT'],
    );
    const none = await udp(port, 'far.node.consul', 'AAAA');
    assert.equal(none.rcode, 'NOERROR');
    assert.equal(none.answers?.length, 0);
    assert.equal(none.authorities?.[0]?.type, 'SOA');
  });

  it('answers PTR for node and service addresses, and addr names', async () => {
    const node = await udp(port, '7.2.0.192.in-addr.arpa', 'PTR');
    assert.deepEqual(strings(node, 'PTR'), ['far.node.dc1.consul']);
    const svc = await udp(port, '70.2.0.192.in-addr.arpa', 'PTR');
    assert.deepEqual(strings(svc, 'PTR'), ['cache.service.dc1.consul']);
    assert.equal((await udp(port, '1.1.1.1.in-addr.arpa', 'PTR')).rcode, 'NXDOMAIN');
    assert.deepEqual(strings(await udp(port, `${ipToHex('192.0.2.70')}.addr.dc1.consul`, 'A'), 'A'), ['192.0.2.70']);
  });

  it('refuses names outside its domain (no recursors) and fails another datacenter, as Consul', async () => {
    const outside = await udp(port, 'example.com', 'A');
    assert.equal(outside.rcode, 'REFUSED');
    assert.equal(outside.flag_aa, false);
    assert.deepEqual(outside.answers, []);
    const dc9 = await udp(port, 'web.service.dc9.consul', 'A');
    assert.equal(dc9.rcode, 'SERVFAIL');
    assert.equal(dc9.flag_aa, true);
  });

  it('answers SOA with the servers as NS authority and their A as glue, and NS with the servers', async () => {
    for (const name of ['consul', 'web.service.consul']) {
      const soa = await udp(port, name, 'SOA');
      assert.equal(soa.rcode, 'NOERROR');
      assert.equal(soa.flag_aa, true);
      assert.equal(soa.answers?.[0]?.type, 'SOA');
      assert.deepEqual(soa.authorities?.map((a) => [a.type, a.name, (a as StringAnswer).data]), [['NS', 'consul', 'vm.node.dc1.consul']]);
      assert.deepEqual(soa.additionals?.map((a) => [a.type, a.name, (a as StringAnswer).data]), [['A', 'vm.node.dc1.consul', '127.0.0.1']]);
    }
    const ns = await udp(port, 'consul', 'NS');
    assert.equal(ns.rcode, 'NOERROR');
    assert.deepEqual(ns.answers?.map((a) => [a.type, a.name, (a as StringAnswer).data]), [['NS', 'consul', 'vm.node.dc1.consul']]);
    assert.deepEqual(ns.authorities, []);
    assert.deepEqual(ns.additionals?.map((a) => [a.type, (a as StringAnswer).data]), [['A', '127.0.0.1']]);
  });

  it('limits UDP answers without EDNS to 3, and gives everything over EDNS and TCP', async () => {
    const plain = await udp(port, 'web.service.consul', 'A');
    assert.equal(plain.answers?.length, 3);
    assert.ok(!(plain.additionals ?? []).some((a) => a.type === 'OPT'), 'no OPT without EDNS');
    const edns = await udp(port, 'web.service.consul', 'A', true);
    assert.equal(edns.answers?.length, 6);
    const opt = (edns.additionals ?? []).find((a) => a.type === 'OPT');
    assert.equal(opt?.type === 'OPT' ? opt.udpPayloadSize : 0, 1232);
    const [overTCP, second] = await tcp(port, [
      ['web.service.consul', 'A'],
      ['web.service.consul', 'SRV'],
    ]);
    assert.equal(overTCP?.answers?.length, 6);
    assert.equal(second?.answers?.length, 6);
    assert.equal(second?.additionals?.length, 6);
  });

  it('shuffles service answers between queries', async () => {
    const orders = new Set<string>();
    for (let i = 0; i < 20; i++) orders.add(((await udp(port, 'web.service.consul', 'A', true)).answers ?? []).map((a) => (a.type === 'A' ? a.data : '')).join(','));
    assert.ok(orders.size > 1);
  });
});

describe('DNS names', () => {
  it('parses the lookups Consul dispatches on', () => {
    assert.deepEqual(parseLookup('web.service'), { kind: 'service', service: 'web', tag: '', dc: '' });
    assert.deepEqual(parseLookup('v1.web.service.dc1'), { kind: 'service', service: 'web', tag: 'v1', dc: 'dc1' });
    assert.deepEqual(parseLookup('_web._v1.service'), { kind: 'service', service: 'web', tag: 'v1', dc: '' });
    assert.deepEqual(parseLookup('_web._tcp.service'), { kind: 'service', service: 'web', tag: '', dc: '' });
    assert.deepEqual(parseLookup('host.example.node.east'), { kind: 'node', node: 'host.example', dc: 'east' });
    assert.deepEqual(parseLookup('7f000001.addr.dc1'), { kind: 'addr', ip: '127.0.0.1', dc: 'dc1' });
    assert.deepEqual(parseLookup('zz.addr'), { kind: 'unknown' });
    assert.deepEqual(parseLookup('service'), { kind: 'unknown' });
    assert.deepEqual(parseLookup(''), { kind: 'apex', dc: '' });
    assert.equal(parseReverse('1.0.0.127.in-addr.arpa.'), '127.0.0.1');
    assert.equal(parseReverse('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa'), '0:0:0:0:0:0:0:1');
    assert.equal(parseReverse('999.0.0.127.in-addr.arpa'), null);
    assert.equal(ipToHex('192.0.2.70'), 'c0000246');
    assert.equal(ipToHex('::1'), '00000000000000000000000000000001');
  });
});
