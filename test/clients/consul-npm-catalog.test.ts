// The `consul` npm package as a real client of the catalog and health paths, including its
// watch helper (blocking queries on /v1/health/service).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Consul from 'consul';
import { startAgent, type TestAgent } from '../helpers/agent.js';

type Entry = { Service: { ID: string }; Checks: { Status: string }[] };

describe('consul npm package: catalog and health', () => {
  let t: TestAgent;
  let consul: Consul;
  before(async () => {
    t = await startAgent();
    consul = new Consul({ host: '127.0.0.1', port: t.port });
  });
  after(() => t.stop());

  it('registers through the catalog and reads nodes, services and health', async () => {
    await consul.catalog.register({
      node: 'npm-node',
      address: '10.3.0.1',
      nodemeta: { team: 'core' },
      service: { id: 'pay-1', service: 'pay', port: 9000, tags: ['v1'], meta: { tier: 'gold' } },
      check: { checkid: 'pay-1-ok', name: 'pay ok', serviceid: 'pay-1', status: 'passing' },
    });
    await consul.catalog.register({ node: 'npm-node-2', address: '10.3.0.2', service: { id: 'pay-2', service: 'pay', port: 9000 }, check: { checkid: 'pay-2-ok', serviceid: 'pay-2', status: 'critical' } });

    const nodes = (await consul.catalog.node.list()) as { Node: string }[];
    assert.ok(nodes.some((n) => n.Node === 'npm-node'));
    const services = (await consul.catalog.service.list()) as Record<string, string[]>;
    assert.deepEqual(services.pay, ['v1']);
    const instances = (await consul.catalog.service.nodes('pay')) as { ServiceID: string; ServiceMeta: Record<string, string> }[];
    assert.deepEqual(
      instances.map((i) => i.ServiceID),
      ['pay-1', 'pay-2'],
    );
    assert.equal(instances[0]!.ServiceMeta.tier, 'gold');
    const all = (await consul.health.service('pay')) as Entry[];
    assert.equal(all.length, 2);
    const passing = (await consul.health.service({ service: 'pay', passing: true })) as Entry[];
    assert.deepEqual(
      passing.map((e) => e.Service.ID),
      ['pay-1'],
    );
    const critical = (await consul.health.state('critical')) as { CheckID: string }[];
    assert.ok(critical.some((c) => c.CheckID === 'pay-2-ok'));
    await consul.catalog.deregister({ node: 'npm-node-2' });
    assert.equal(((await consul.health.service('pay')) as Entry[]).length, 1);
  });

  it('watches a service’s health and sees a check recover', async () => {
    await consul.catalog.register({ node: 'watched', address: '10.3.0.9', service: { id: 'w-1', service: 'watched' }, check: { checkid: 'w-1-ok', serviceid: 'w-1', status: 'critical' } });
    // The package's watch helper takes the method itself and binds it (its documented usage).
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const watch = consul.watch({ method: consul.health.service, options: { service: 'watched', passing: 'true' } });
    const seen: number[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        watch.on('error', reject);
        watch.on('change', (data: Entry[]) => {
          seen.push(data.length);
          if (seen.length === 1) {
            void consul.catalog.register({ node: 'watched', address: '10.3.0.9', check: { checkid: 'w-1-ok', serviceid: 'w-1', status: 'passing' } });
          } else if (data.length === 1) {
            resolve();
          }
        });
      });
    } finally {
      watch.end();
    }
    assert.deepEqual(seen, [0, 1]);
  });
});
