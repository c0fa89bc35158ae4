// DNS fuzzing, bounded: well-formed questions for every kind of name and type, the same with
// bytes flipped, cut or appended, and random bytes, over UDP and TCP. The agent must stay up and
// keep answering, log no failure of its own, and never stall its event loop past 100 ms.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { Packet } from 'dns-packet';
import dnsPacket from 'dns-packet';
import { Agent } from '../../src/agent/agent.js';
import { createLogger } from '../../src/util/log.js';
import { testConfig } from '../helpers/agent.js';
import { watchStalls } from '../helpers/stalls.js';
import { udpRaw } from '../helpers/dns.js';
import { catalogRegister, client } from '../helpers/http.js';
import { Rng, STRINGS } from './gen.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const PACKETS = Number(process.env.FUZZ_PACKETS ?? 6000);

const NAMES = [
  'web.service.consul', 'v1.web.service.consul', '_web._tcp.service.consul', 'web.service.dc1.consul', 'web.connect.consul', 'db.service.consul',
  'node1.node.consul', 'node1.node.dc1.consul', '7f000001.addr.consul', '00000000000000000000000000000001.addr.dc1.consul', 'zz.addr.consul',
  '1.0.0.127.in-addr.arpa', 'odd.node.consul', '9.0.0.0.8.0.0.0.7.0.0.0.6.0.0.0.5.0.0.0.0.0.0.0.4.0.0.0.3.0.0.0.ip6.arpa', '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa', 'x.ip6.arpa', 'consul', 'service.consul',
  'nope.query.consul', 'a.b.c.d.e.f.service.consul', '.service.consul', 'example.com', '',
];
const TYPES = ['A', 'AAAA', 'SRV', 'PTR', 'TXT', 'ANY', 'SOA', 'NS', 'MX', 'CNAME', 'OPT', 'AXFR'] as const;

function question(r: Rng): Buffer {
  let name = r.pick(NAMES);
  if (r.chance(0.2)) name = `${r.pick(STRINGS).replace(/[.\s]/g, '').slice(0, 63) || 'x'}.${name}`;
  if (r.chance(0.05)) name = Array.from({ length: 4 }, () => 'a'.repeat(63)).join('.');
  const p: Packet = {
    type: 'query',
    id: r.int(65536),
    flags: r.chance(0.5) ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ type: r.pick(TYPES) as 'A', name }],
    ...(r.chance(0.3) ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: r.pick([0, 512, 1232, 4096, 65535]) }] } : {}),
  } as Packet;
  try {
    return dnsPacket.encode(p);
  } catch {
    return r.bytes(20);
  }
}

function packet(r: Rng): Buffer {
  const k = r.int(10);
  if (k < 4) return question(r);
  if (k < 8) {
    const b = Buffer.from(question(r));
    for (let i = r.int(6) + 1; i > 0; i--) b[r.int(b.length)] = r.int(256);
    if (r.chance(0.3)) return b.subarray(0, r.int(b.length));
    if (r.chance(0.2)) return Buffer.concat([b, r.bytes(r.int(100))]);
    return b;
  }
  return r.bytes(r.int(r.chance(0.5) ? 16 : 600));
}

/** Sends a wave of datagrams from one socket; resolves with the number of replies once quiet. */
function udpWave(port: number, msgs: Buffer[], quietMs = 40): Promise<number> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    let got = 0;
    let timer = setTimeout(done, quietMs * 3);
    function done(): void {
      s.close();
      resolve(got);
    }
    s.on('message', () => {
      got++;
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    });
    for (const m of msgs) s.send(m, port, '127.0.0.1');
  });
}

/** Sends framed messages on one TCP connection and collects what comes back until it closes. */
function tcpBurst(port: number, msgs: Buffer[]): Promise<number> {
  return new Promise((resolve) => {
    let got = 0;
    const c = net.connect(port, '127.0.0.1', () => {
      for (const m of msgs) {
        const head = Buffer.alloc(2);
        head.writeUInt16BE(m.length);
        c.write(Buffer.concat([head, m]));
      }
    });
    c.on('data', (d: Buffer) => (got += d.length));
    c.on('error', () => undefined);
    c.on('close', () => resolve(got));
    c.setTimeout(1000, () => c.destroy());
  });
}

describe('fuzz: DNS', () => {
  it(`malformed and odd questions over UDP and TCP (seed ${SEED})`, async () => {
    const errors: string[] = [];
    const logger = createLogger('fuzz', 'ERR', { write: (line) => void (line.includes('[ERROR]') && errors.push(line)) });
    const agent = new Agent({ config: testConfig({ ports: { http: 0, https: -1, dns: 0, serfLan: -1, serfWan: -1, server: -1, grpc: -1 } }), logger });
    await agent.start();
    try {
      const httpPort = Number(agent.httpAddrs[0]!.split(':').pop());
      const dnsAddr = agent.dnsAddrs[0]!;
      const port = Number(dnsAddr.slice(dnsAddr.lastIndexOf(':') + 1));
      const api = client(`http://127.0.0.1:${httpPort}`);
      for (let i = 0; i < 5; i++) {
        await catalogRegister(api, { Node: 'node1', Address: '127.0.0.1', NodeMeta: { rack: 'r1' }, Service: { ID: `web${i}`, Service: 'web', Tags: ['v1'], Port: 8000 + i } });
      }
      // Stored values that once broke answers: a port past uint16, an address that is no IP.
      await catalogRegister(api, { Node: 'odd', Address: '1:2:3:4:5::6:7:8:9', Service: { ID: 'odd', Service: 'web', Port: 70000, Weights: { Passing: 70000, Warning: 1 } } });
      let wave = 0;
      const stalls = watchStalls(() => `UDP wave ${wave}`);
      const r = new Rng(SEED);
      let answered = 0;
      // UDP in small concurrent waves; TCP as bursts of pipelined messages on fresh connections.
      for (let sent = 0; sent < PACKETS; sent += 100, wave++) {
        answered += await udpWave(port, Array.from({ length: 100 }, () => packet(r)));
        if (sent % 500 === 0) await tcpBurst(port, Array.from({ length: 1 + r.int(8) }, () => packet(r)));
      }
      const st = stalls.stop();
      const control = await udpRaw(port, dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'SRV', name: 'web.service.consul' }] }), 2000);
      assert.ok(control, 'the agent stopped answering DNS');
      assert.ok((dnsPacket.decode(control).answers?.length ?? 0) > 0, 'no answer for web.service.consul');
      assert.ok((await tcpBurst(port, [dnsPacket.encode({ type: 'query', id: 2, questions: [{ type: 'A', name: 'node1.node.consul' }] })])) > 0, 'no TCP answer');
      assert.equal((await api.get('/v1/status/leader')).status, 200);
      assert.deepEqual(errors, []);
      assert.ok(st.maxBusyMs < 100, `the event loop stalled for ${st.maxBusyMs.toFixed(0)} ms: ${st.late.join('; ')}`);
      assert.ok(answered > PACKETS / 4, `only ${answered} of ${PACKETS} packets were answered`);
      console.log(`# ${PACKETS} packets, ${answered} answered, max loop stall ${st.maxBusyMs.toFixed(1)} ms (${st.maxWallMs.toFixed(1)} ms wall)`);
    } finally {
      await agent.stop();
    }
  });
});
