// The WAN list's merge rules with a pinned clock (no sockets): freshest news wins, silence fails
// a server, a force-leave spreads and is refuted by a live server, prune forgets, and the
// datacenter list and forwarding pools follow; plus the DNS names that name another datacenter.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localMember } from '../../src/agent/self.js';
import { PLAIN } from '../../src/cluster/security.js';
import { WAN_FAIL_AFTER_MS, WanPool, type WanRecord } from '../../src/cluster/wan.js';
import { otherDatacenter } from '../../src/dns/query.js';
import { failoverDatacenters } from '../../src/http/query-execute.js';
import type { PreparedQuery } from '../../src/state/query-types.js';
import { silentLogger } from '../../src/util/log.js';
import { testConfig } from '../helpers/agent.js';

function pool(clock: { t: number }): WanPool {
  const config = testConfig({ nodeName: 'a', datacenter: 'dc1' });
  return new WanPool({ config, security: PLAIN, logger: silentLogger, self: () => localMember(config, 'id-a', true), now: () => clock.t });
}

function rec(name: string, dc: string, heardAgoMs: number, leftAgoMs: number | null = null, addr = '10.0.0.9'): WanRecord {
  return { Name: `${name}.${dc}`, Addr: addr, Port: 8302, Tags: { dc, role: 'consul', port: '8300' }, heardAgoMs, leftAgoMs };
}

const status = (p: WanPool, name: string): number | undefined => p.members().find((m) => m.Name === name)?.Status;

describe('WAN pool', () => {
  it('lists itself first, then what it is told; clients and its own name are ignored', () => {
    const clock = { t: 1_000_000 };
    const p = pool(clock);
    p.merge([rec('b', 'dc2', 0), rec('a', 'dc1', 0, 0), { ...rec('c', 'dc2', 0), Tags: { dc: 'dc2', role: 'node' } }]);
    assert.deepEqual(
      p.members().map((m) => [m.Name, m.Status]),
      [
        ['a.dc1', 1],
        ['b.dc2', 1],
      ],
    );
    assert.deepEqual(p.datacenters(), ['dc1', 'dc2']);
  });

  it('a server not heard from for the fail timeout is failed; fresher news brings it back', () => {
    const clock = { t: 1_000_000 };
    const p = pool(clock);
    p.merge([rec('b', 'dc2', 0)]);
    clock.t += WAN_FAIL_AFTER_MS + 1;
    assert.equal(status(p, 'b.dc2'), 4);
    // Older second-hand news changes nothing; newer news (a third server heard it) revives it.
    p.merge([rec('b', 'dc2', WAN_FAIL_AFTER_MS + 500)]);
    assert.equal(status(p, 'b.dc2'), 4);
    p.merge([rec('b', 'dc2', 1000)]);
    assert.equal(status(p, 'b.dc2'), 1);
    // A failed datacenter is still listed (its servers may come back).
    clock.t += WAN_FAIL_AFTER_MS + 1;
    assert.deepEqual(p.datacenters(), ['dc1', 'dc2']);
    assert.ok(p.poolFor('dc2'));
  });

  it('news of a silent server going round does not keep it alive', () => {
    const clock = { t: 1_000_000 };
    const p = pool(clock);
    p.merge([rec('b', 'dc2', 0)]);
    const heard = clock.t;
    // A peer echoes what it heard of b, 50 ms younger than it is (transit time).
    for (let i = 0; i < 5; i++) {
      clock.t += 2000;
      p.merge([rec('b', 'dc2', clock.t - heard - 50)]);
    }
    clock.t = heard + WAN_FAIL_AFTER_MS + 20;
    assert.equal(status(p, 'b.dc2'), 4);
  });

  it('datacenters sort by name after this one; this one and unknown ones have no pool', () => {
    const clock = { t: 1_000_000 };
    const p = pool(clock);
    p.merge([rec('z', 'zeta', 0), rec('b', 'dc2', 0), rec('m', 'alpha', 0)]);
    assert.deepEqual(p.datacenters(), ['dc1', 'alpha', 'dc2', 'zeta']);
    assert.equal(p.poolFor('dc1'), null);
    assert.equal(p.poolFor('dc9'), null);
    assert.deepEqual(p.poolFor('dc2')?.list(), ['10.0.0.9:8300']);
    p.stop();
  });

  it('force-leave marks left (spread with the list); a live server refutes it by being heard again', () => {
    const clock = { t: 1_000_000 };
    const p = pool(clock);
    p.merge([rec('b', 'dc2', 0)]);
    clock.t += 1000;
    p.forceLeave('b.dc2', false);
    assert.equal(status(p, 'b.dc2'), 3);
    assert.deepEqual(p.datacenters(), ['dc1']);
    assert.equal(p.poolFor('dc2'), null);
    // Another server told of the leave sees it left too.
    const q = pool({ t: 5_000_000 });
    q.merge([rec('b', 'dc2', 1000, 0)]);
    assert.equal(status(q, 'b.dc2'), 3);
    // b itself pushes later: alive again.
    clock.t += 10;
    p.merge([rec('b', 'dc2', 0)]);
    assert.equal(status(p, 'b.dc2'), 1);
  });

  it('prune forgets at once, and older news of the pruned server is ignored', () => {
    const clock = { t: 1_000_000 };
    const p = pool(clock);
    p.merge([rec('b', 'dc2', 0)]);
    clock.t += WAN_FAIL_AFTER_MS + 1;
    p.forceLeave('b.dc2', true);
    assert.equal(status(p, 'b.dc2'), undefined);
    p.merge([rec('b', 'dc2', WAN_FAIL_AFTER_MS + 1)]);
    assert.equal(status(p, 'b.dc2'), undefined);
    p.merge([rec('b', 'dc2', 0)]);
    assert.equal(status(p, 'b.dc2'), 1);
  });

  it('force-leave of an unknown name fails with Consul text', () => {
    const p = pool({ t: 1 });
    assert.throws(() => p.forceLeave('x.dc5', false), /^Error: agent: No node found with name 'x\.dc5'$/);
    p.forceLeave('a.dc1', false);
  });
});

describe('DNS names of another datacenter', () => {
  it('service, node and query names with another dc label; nothing else', () => {
    assert.equal(otherDatacenter('web.service.dc2.consul.', 'consul.', 'dc1'), 'dc2');
    assert.equal(otherDatacenter('v1.web.service.DC2.consul', 'consul.', 'dc1'), 'dc2');
    assert.equal(otherDatacenter('_web._tcp.service.dc2.consul', 'consul.', 'dc1'), 'dc2');
    assert.equal(otherDatacenter('n1.node.dc2.consul', 'consul.', 'dc1'), 'dc2');
    assert.equal(otherDatacenter('q.query.dc2.consul', 'consul.', 'dc1'), 'dc2');
    assert.equal(otherDatacenter('web.service.dc1.consul', 'consul.', 'dc1'), null);
    assert.equal(otherDatacenter('web.service.consul', 'consul.', 'dc1'), null);
    assert.equal(otherDatacenter('0a000001.addr.dc2.consul', 'consul.', 'dc1'), null);
    assert.equal(otherDatacenter('web.service.dc2.example.com', 'consul.', 'dc1'), null);
  });
});

describe('prepared-query failover candidates', () => {
  const q = (NearestN: number, Datacenters: string[] | null): PreparedQuery => ({ Service: { Failover: { NearestN, Datacenters } } }) as unknown as PreparedQuery;
  it('the NearestN first, then the listed ones that are known and not chosen yet', () => {
    const others = ['dc2', 'dc3', 'dc4'];
    assert.deepEqual(failoverDatacenters(q(0, null), others), []);
    assert.deepEqual(failoverDatacenters(q(2, null), others), ['dc2', 'dc3']);
    assert.deepEqual(failoverDatacenters(q(9, null), others), ['dc2', 'dc3', 'dc4']);
    assert.deepEqual(failoverDatacenters(q(1, ['dc4', 'dc9', 'dc2']), others), ['dc2', 'dc4']);
    assert.deepEqual(failoverDatacenters(q(0, ['dc3', 'dc3']), others), ['dc3']);
  });
});
