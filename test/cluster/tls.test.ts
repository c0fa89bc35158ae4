// Certificate TLS on the agent channel (cert_file, key_file, ca_file, verify_incoming,
// verify_outgoing, verify_server_hostname), with certificates made by openssl for this test: an
// agent with a certificate from the cluster's CA joins; one without a certificate, or with one
// from another CA, cannot; with verify_server_hostname a server certificate must name
// server.<dc>.<domain>.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import type { ClusterConfig, RuntimeConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/util/log.js';
import { tempDir, testConfig, type TestAgent } from '../helpers/agent.js';
import { request } from '../helpers/http.js';

const dir = tempDir('tribune-tls-');
const f = (n: string): string => path.join(dir, n);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A CA, and a leaf certificate it signs for `name` (as a DNS SAN). */
function makeCA(ca: string): void {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f(`${ca}.key`), '-out', f(`${ca}.pem`), '-days', '2', '-subj', `/CN=${ca}`);
}

function makeLeaf(ca: string, leaf: string, name: string): void {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f(`${leaf}.key`), '-out', f(`${leaf}.csr`), '-subj', `/CN=${name}`);
  fs.writeFileSync(f(`${leaf}.ext`), `subjectAltName=DNS:${name},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n`);
  openssl('x509', '-req', '-in', f(`${leaf}.csr`), '-CA', f(`${ca}.pem`), '-CAkey', f(`${ca}.key`), '-CAcreateserial', '-out', f(`${leaf}.pem`), '-days', '2', '-extfile', f(`${leaf}.ext`));
}

function tls(leaf: string | null, ca: string, verify: Partial<ClusterConfig['tls']> = {}): ClusterConfig {
  return {
    ...testConfig().cluster,
    tls: { verifyIncoming: true, verifyOutgoing: true, verifyServerHostname: false, caFile: f(`${ca}.pem`), certFile: leaf ? f(`${leaf}.pem`) : '', keyFile: leaf ? f(`${leaf}.key`) : '', ...verify },
  };
}

async function start(overrides: Partial<RuntimeConfig>): Promise<TestAgent> {
  const agent = new Agent({ config: testConfig({ ports: { http: 0, https: -1, dns: -1, serfLan: 0, serfWan: -1, server: 0, grpc: -1 }, ...overrides }), logger: silentLogger });
  await agent.start();
  const addr = agent.httpAddrs[0]!;
  return { agent, base: `http://${addr}`, port: Number(addr.slice(addr.lastIndexOf(':') + 1)), stop: () => agent.stop() };
}

const client = (name: string, cluster: ClusterConfig): Promise<TestAgent> => start({ nodeName: name, server: false, bootstrap: false, cluster });

describe('certificate TLS on the agent channel', () => {
  let server: TestAgent;
  const started: TestAgent[] = [];

  before(async () => {
    makeCA('ca');
    makeCA('rogue');
    makeLeaf('ca', 'server', 'server.dc1.consul');
    makeLeaf('ca', 'client', 'client.dc1.consul');
    makeLeaf('ca', 'wrongname', 'not-a-server.example');
    makeLeaf('rogue', 'intruder', 'client.dc1.consul');
    server = await start({ nodeName: 'tls-server', cluster: tls('server', 'ca') });
  });
  after(async () => {
    for (const t of started) await t.stop();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const join = async (t: TestAgent): Promise<number> => (await request(t.base, 'PUT', `/v1/agent/join/${server.agent.lanAddr}`)).status;

  it('an agent with a certificate from the cluster CA joins and its requests are forwarded', async () => {
    const c = await client('tls-ok', tls('client', 'ca', { verifyServerHostname: true }));
    started.push(c);
    assert.equal(await join(c), 200);
    assert.equal((await request(c.base, 'PUT', '/v1/kv/tls', 'yes')).text, 'true');
    assert.equal((await request(server.base, 'GET', '/v1/kv/tls?raw')).text, 'yes');
  });

  it('without a certificate, or with one from another CA, it cannot join (verify_incoming)', async () => {
    const none = await client('tls-none', tls(null, 'ca'));
    started.push(none);
    assert.equal(await join(none), 500);
    const rogue = await client('tls-rogue', tls('intruder', 'rogue'));
    started.push(rogue);
    assert.equal(await join(rogue), 500);
    const names = (await request(server.base, 'GET', '/v1/agent/members')).json<{ Name: string }[]>().map((m) => m.Name);
    assert.deepEqual(names.sort(), ['tls-ok', 'tls-server']);
  });

  it('verify_server_hostname refuses a server whose certificate does not name server.<dc>.<domain>', async () => {
    const impostor = await start({ nodeName: 'impostor', cluster: tls('wrongname', 'ca', { verifyIncoming: false }) });
    started.push(impostor);
    const strict = await client('tls-strict', tls('client', 'ca', { verifyServerHostname: true }));
    started.push(strict);
    // As Consul: the check is on calls to servers (the join itself is membership, as serf's is).
    await request(strict.base, 'PUT', `/v1/agent/join/${impostor.agent.lanAddr}`);
    const r = await request(strict.base, 'GET', '/v1/kv/anything');
    assert.equal(r.status, 500);
    assert.match(r.text, /not-a-server\.example|server\.dc1\.consul/);
    // Without the hostname check the same certificate is accepted (signed by the CA).
    const lax = await client('tls-lax', tls('client', 'ca'));
    started.push(lax);
    assert.equal((await request(lax.base, 'PUT', `/v1/agent/join/${impostor.agent.lanAddr}`)).status, 200);
    assert.equal((await request(lax.base, 'GET', '/v1/kv/anything')).status, 404);
  });

  it('with encrypt as well, every request proves the key over its TLS session', async () => {
    const key = Buffer.alloc(32, 3).toString('base64');
    const keyed = await start({ nodeName: 'keyed-tls', cluster: { ...tls('server', 'ca'), encrypt: key } });
    started.push(keyed);
    const good = await client('keyed-ok', { ...tls('client', 'ca'), encrypt: key });
    started.push(good);
    assert.equal((await request(good.base, 'PUT', `/v1/agent/join/${keyed.agent.lanAddr}`)).status, 200);
    assert.equal((await request(good.base, 'PUT', '/v1/kv/k', 'v')).text, 'true');
    const keyless = await client('keyed-no', tls('client', 'ca'));
    started.push(keyless);
    const r = await request(keyless.base, 'PUT', `/v1/agent/join/${keyed.agent.lanAddr}`);
    assert.equal(r.status, 500);
    assert.match(r.text, /key proof/);
  });
});
