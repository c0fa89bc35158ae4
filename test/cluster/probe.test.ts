// Probers on loopback UDP: they measure each other and move their coordinates; with a gossip key
// they talk only to holders of the same key; garbage does not hurt them; stop() frees the port.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import { after, describe, it } from 'node:test';
import { open, Prober, seal, type Peer, type ProberOptions } from '../../src/cluster/probe.js';
import { distanceSeconds, isValidCoordinate, type NetCoordinate } from '../../src/util/coordinate.js';
import { silentLogger } from '../../src/util/log.js';

const HOST = '127.0.0.1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

interface Node {
  name: string;
  prober: Prober;
  port: number;
  changes: NetCoordinate[];
}

const running: (Prober | dgram.Socket)[] = [];
after(async () => {
  for (const r of running) {
    if (r instanceof Prober) await r.stop();
    else r.close();
  }
});

/** Starts probers that probe each other (each sees every other node of `names`). */
async function cluster(names: string[], keys: Record<string, Buffer | null> = {}, extra: Partial<ProberOptions> = {}): Promise<Map<string, Node>> {
  const nodes = new Map<string, Node>();
  for (const name of names) {
    const changes: NetCoordinate[] = [];
    const peers = (): Peer[] => [...nodes.values()].filter((n) => n.name !== name).map((n) => ({ name: n.name, addr: HOST, port: n.port }));
    const prober = new Prober({ bind: HOST, port: 0, key: keys[name] ?? null, peers, onCoordinate: (c) => changes.push(c), intervalMs: 15, timeoutMs: 200, logger: silentLogger, name, ...extra });
    running.push(prober);
    const { port } = await prober.start();
    assert.ok(port > 0);
    nodes.set(name, { name, prober, port, changes });
  }
  return nodes;
}

async function rawSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  running.push(s);
  await new Promise<void>((r) => s.bind(0, HOST, () => r()));
  return s;
}

/** A ping in the documented wire format: 'T' 1 PING seq nameLen name. */
function ping(seq: number, node = ''): Buffer {
  const name = Buffer.from(node);
  const b = Buffer.alloc(8 + name.length);
  b[0] = 0x54;
  b[1] = 1;
  b[2] = 1;
  b.writeUInt32BE(seq, 3);
  b[7] = name.length;
  name.copy(b, 8);
  return b;
}

/** The first datagram `s` receives within `ms`, or null. */
function reply(s: dgram.Socket, ms: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const onMsg = (m: Buffer): void => {
      clearTimeout(t);
      resolve(m);
    };
    const t = setTimeout(() => {
      s.off('message', onMsg);
      resolve(null);
    }, ms);
    s.once('message', onMsg);
  });
}

/** Decodes an ack: seq and coordinate. */
function ack(b: Buffer): { seq: number; coord: NetCoordinate } {
  assert.deepEqual([b[0], b[1], b[2]], [0x54, 1, 2]);
  const dims = b[7]!;
  assert.equal(b.length, 8 + 8 * (dims + 3));
  const f = (i: number): number => b.readDoubleBE(8 + 8 * i);
  return { seq: b.readUInt32BE(3), coord: { Vec: Array.from({ length: dims }, (_, i) => f(i)), Error: f(dims), Adjustment: f(dims + 1), Height: f(dims + 2) } };
}

const send = (s: dgram.Socket, b: Buffer, port: number): Promise<void> => new Promise((r) => s.send(b, port, HOST, () => r()));

describe('Prober', () => {
  it('three probers learn each other: RTTs, peer coordinates, and errors below the start', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const all = [...nodes.values()];
    for (const n of all) assert.equal(n.prober.coordinate().Error, 1.5);
    await until('every pair measured and every error below 1.5', () =>
      all.every((n) => all.every((m) => m === n || (n.prober.rtt(m.name) !== undefined && n.prober.peerCoordinate(m.name) !== undefined)) && n.prober.coordinate().Error < 1.5),
    );
    for (const n of all) {
      const c = n.prober.coordinate();
      assert.ok(isValidCoordinate(c));
      assert.ok(n.changes.length > 0, 'onCoordinate was called');
      assert.deepEqual(n.changes.at(-1), c, 'the last change reported is the coordinate');
      for (const m of all) {
        if (m === n) continue;
        const rtt = n.prober.rtt(m.name)!;
        assert.ok(rtt >= 0 && rtt < 0.2, `rtt ${n.name}->${m.name} ${rtt}`);
        const d = distanceSeconds(c, m.prober.coordinate());
        assert.ok(d > 0 && Number.isFinite(d), `distance ${n.name}-${m.name} ${d}`);
      }
      const s = n.prober.stats();
      assert.ok(s.pings > 0 && s.acks > 0 && s.answered > 0, JSON.stringify(s));
    }
    // Round-robin over a shuffled list: each prober has pinged both its peers.
    for (const n of all) n.prober.forget('zzz');
    const a = nodes.get('a')!.prober;
    a.forget('b');
    assert.equal(a.rtt('b'), undefined);
    assert.equal(a.peerCoordinate('b'), undefined);
  });

  it('observe() takes samples from other paths and refuses bad ones, as the Vivaldi client does', async () => {
    const seen: NetCoordinate[] = [];
    const p = new Prober({ bind: HOST, port: 0, key: null, peers: () => [], onCoordinate: (c) => seen.push(c), logger: silentLogger });
    const origin = p.coordinate();
    const other = { ...origin, Vec: origin.Vec.map((_, i) => (i === 0 ? 0.002 : 0)) };
    assert.equal(p.observe('srv', other, 0.004), true);
    assert.equal(seen.length, 1);
    assert.notDeepEqual(p.coordinate(), origin);
    assert.equal(p.rtt('srv'), 0.004);
    assert.equal(p.observe('srv', other, 11), false);
    assert.equal(p.observe('srv', { ...other, Error: NaN }, 0.004), false);
    assert.equal(p.observe('srv', { ...other, Vec: [0, 0] }, 0.004), false);
    assert.equal(seen.length, 1);
    await p.stop();
  });

  it('answers a raw ping with its coordinate, echoing the sequence; a ping naming another node goes unanswered', async () => {
    const nodes = await cluster(['solo']);
    const port = nodes.get('solo')!.port;
    const s = await rawSocket();
    let got = reply(s, 2000);
    await send(s, ping(4242, 'solo'), port);
    const a = ack((await got)!);
    assert.equal(a.seq, 4242);
    assert.deepEqual(a.coord, nodes.get('solo')!.prober.coordinate());
    got = reply(s, 2000);
    await send(s, ping(7, ''), port);
    assert.equal(ack((await got)!).seq, 7);

    got = reply(s, 300);
    await send(s, ping(8, 'someone-else'), port);
    assert.equal(await got, null);
  });

  it('with a gossip key: only holders of the same key get acks; other packets are ignored', async () => {
    const key = crypto.randomBytes(32);
    const nodes = await cluster(['k1', 'k2', 'nokey', 'wrongkey'], { k1: key, k2: key, wrongkey: crypto.randomBytes(32) });
    const k1 = nodes.get('k1')!.prober;
    const k2 = nodes.get('k2')!.prober;
    const nokey = nodes.get('nokey')!.prober;
    const wrong = nodes.get('wrongkey')!.prober;
    await until('the keyed pair measures each other and the others time out', () =>
      k1.rtt('k2') !== undefined && k2.rtt('k1') !== undefined && nokey.stats().timeouts >= 6 && wrong.stats().timeouts >= 6 && k1.stats().dropped >= 2,
    );
    for (const outsider of [nokey, wrong]) {
      assert.equal(outsider.stats().acks, 0, JSON.stringify(outsider.stats()));
      assert.equal(outsider.rtt('k1'), undefined);
      assert.equal(outsider.rtt('k2'), undefined);
      assert.equal(outsider.coordinate().Error, 1.5);
    }
    for (const keyed of [k1, k2]) {
      assert.equal(keyed.rtt('nokey'), undefined);
      assert.equal(keyed.rtt('wrongkey'), undefined);
    }
    // The keyless and the wrongly keyed drop each other's packets too.
    assert.equal(nokey.rtt('wrongkey'), undefined);

    // On the wire: a clear ping gets nothing from k1; a sealed one gets a sealed ack.
    const s = await rawSocket();
    const port = nodes.get('k1')!.port;
    let got = reply(s, 300);
    await send(s, ping(1, 'k1'), port);
    assert.equal(await got, null);
    got = reply(s, 300);
    await send(s, seal(crypto.randomBytes(32), ping(2, 'k1')), port);
    assert.equal(await got, null);
    got = reply(s, 2000);
    await send(s, seal(key, ping(3, 'k1')), port);
    const sealed = (await got)!;
    assert.equal(sealed[0], 1, 'memberlist encryption version 1');
    assert.equal(sealed.length, 1 + 12 + 8 + 8 * 11 + 16);
    assert.equal(ack(open(key, sealed)!).seq, 3);
    // A flipped bit anywhere fails authentication.
    const tampered = Buffer.from(sealed);
    tampered[20]! ^= 1;
    assert.equal(open(key, tampered), null);
  });

  it('a flood of garbage datagrams neither crashes nor stalls a prober', async () => {
    const key = crypto.randomBytes(16);
    const plain = await cluster(['g1', 'g2']);
    const keyed = await cluster(['s1', 's2'], { s1: key, s2: key });
    const s = await rawSocket();
    const targets = [plain.get('g1')!, keyed.get('s1')!];
    const before = targets.map((t) => t.prober.stats());
    const valid = ping(9);
    for (let i = 0; i < 3000; i++) {
      let b: Buffer;
      switch (i % 6) {
        case 0:
          b = crypto.randomBytes(crypto.randomInt(0, 1500));
          break;
        case 1: // our header with a random rest
          b = Buffer.concat([Buffer.from([0x54, 1, crypto.randomInt(0, 4)]), crypto.randomBytes(crypto.randomInt(0, 200))]);
          break;
        case 2: // an ack nobody asked for, and one whose coordinate is NaN
          b = Buffer.alloc(8 + 8 * 11);
          b.set([0x54, 1, 2]);
          b.writeUInt32BE(crypto.randomInt(0, 2 ** 32), 3);
          b[7] = 8;
          if (i % 12 === 2) b.writeDoubleBE(NaN, 8);
          break;
        case 3: // lengths that disagree with the counts
          b = Buffer.from(valid);
          b[7] = 200;
          break;
        case 4: // sealed-looking, or sealed with our key around garbage
          b = i % 12 === 4 ? Buffer.concat([Buffer.from([1]), crypto.randomBytes(60)]) : seal(key, crypto.randomBytes(crypto.randomInt(0, 100)));
          break;
        default:
          b = Buffer.alloc(0);
      }
      for (const t of targets) s.send(b, t.port, HOST);
      if (i % 200 === 0) await sleep(1);
    }
    await until('the flood counted as dropped', () => targets.every((t, i) => t.prober.stats().dropped > before[i]!.dropped + 100));
    // Still measuring: acks keep arriving on both pairs after the flood.
    const acks = targets.map((t) => t.prober.stats().acks);
    await until('probes continue after the flood', () => targets.every((t, i) => t.prober.stats().acks > acks[i]! + 3));
    for (const t of targets) assert.ok(isValidCoordinate(t.prober.coordinate()));
    // And a well-formed ping still gets its answer.
    const got = reply(s, 2000);
    await send(s, ping(77), targets[0]!.port);
    assert.equal(ack((await got)!).seq, 77);
  });

  it('stop() releases the port: a new prober binds it', async () => {
    const first = new Prober({ bind: HOST, port: 0, key: null, peers: () => [], onCoordinate: () => undefined, logger: silentLogger });
    const { port } = await first.start();
    // While it runs, the port is taken.
    const clash = new Prober({ bind: HOST, port, key: null, peers: () => [], onCoordinate: () => undefined, logger: silentLogger });
    await assert.rejects(clash.start(), /EADDRINUSE/);
    await first.stop();
    await first.stop(); // idempotent
    const second = new Prober({ bind: HOST, port, key: null, peers: () => [], onCoordinate: () => undefined, logger: silentLogger });
    assert.deepEqual(await second.start(), { port });
    await second.stop();
  });

  it('refuses a key that is not 16, 24 or 32 bytes', () => {
    assert.throws(() => new Prober({ bind: HOST, port: 0, key: Buffer.alloc(20), peers: () => [], onCoordinate: () => undefined, logger: silentLogger }), /key size must be 16, 24 or 32 bytes/);
  });
});
