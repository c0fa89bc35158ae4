// Prepared queries over real sockets: CRUD and Consul's validation texts, execute (tags with
// `!tag`, OnlyPassing, IgnoreCheckIDs, meta, limit, Near), templates with regexp captures,
// session-bound deletion, ACL filtering and redaction, and `.query.consul` over UDP and TCP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';
import { aclConfig, AS_MASTER, makeToken } from '../helpers/acl.js';
import { dnsTcp, dnsUdp, type DnsReply } from '../helpers/dns.js';

const recs = (r: DnsReply): { data: unknown; ttl: number; type: string }[] => (r.answers ?? []) as unknown as { data: unknown; ttl: number; type: string }[];

interface Exec {
  Service: string;
  Nodes: { Node: { Node: string }; Service: { ID: string; Tags: string[] }; Checks: { CheckID: string }[] }[];
  DNS: { TTL: string };
  Datacenter: string;
  Failovers: number;
  Index: number;
}

const PORTS = { http: 0, https: -1, dns: 0, serfLan: -1, serfWan: -1, server: -1, grpc: -1 };

async function seed(api: ReturnType<typeof client>, h: Record<string, string> = {}): Promise<void> {
  const reg = async (body: object): Promise<void> => {
    const r = await api.put('/v1/catalog/register', body, h);
    assert.equal(r.status, 200, r.text);
  };
  await reg({ Node: 'n1', Address: '10.0.0.1', NodeMeta: { rack: 'a' }, Service: { ID: 'web1', Service: 'web', Tags: ['v1', 'prod'], Port: 80, Meta: { ver: '1' } } });
  await reg({ Node: 'n2', Address: '10.0.0.2', NodeMeta: { rack: 'b' }, Service: { ID: 'web2', Service: 'web', Tags: ['v2', 'prod'], Port: 80, Meta: { ver: '2' } } });
  await reg({ Node: 'n3', Address: '10.0.0.3', Service: { ID: 'web3', Service: 'web', Tags: ['v2', 'canary'], Port: 80 }, Check: { CheckID: 'web3-warn', Name: 'w', Status: 'warning', ServiceID: 'web3' } });
  await reg({ Node: 'n4', Address: '10.0.0.4', Service: { ID: 'web4', Service: 'web', Tags: ['v1'], Port: 80 }, Check: { CheckID: 'web4-crit', Name: 'c', Status: 'critical', ServiceID: 'web4' } });
  await reg({ Node: 'n5', Address: '10.0.0.5', Service: { ID: 'api1', Service: 'api-eu', Port: 81 } });
}

const nodes = (e: Exec): string[] => e.Nodes.map((n) => n.Node.Node).sort();

describe('prepared queries', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  let dnsPort: number;
  before(async () => {
    t = await startAgent({ nodeName: 'n2', ports: PORTS });
    api = client(t.base);
    const a = t.agent.dnsAddrs[0]!;
    dnsPort = Number(a.slice(a.lastIndexOf(':') + 1));
    await seed(api);
  });
  after(() => t.stop());

  const create = async (body: object): Promise<string> => {
    const r = await api.req('POST', '/v1/query', body);
    assert.equal(r.status, 200, r.text);
    return r.json<{ ID: string }>().ID;
  };
  const exec = async (id: string, q = ''): Promise<Exec> => {
    const r = await api.get(`/v1/query/${id}/execute${q}`);
    assert.equal(r.status, 200, r.text);
    return r.json<Exec>();
  };

  it('creates, lists, reads, updates and deletes; refuses with Consul texts', async () => {
    const id = await create({ Name: 'my-query', Service: { Service: 'web', Tags: ['prod'] }, DNS: { TTL: '10s' } });
    const got = await api.get(`/v1/query/${id}`);
    assert.equal(got.status, 200);
    const [q] = got.json<Record<string, unknown>[]>();
    assert.deepEqual(Object.keys(q!), ['ID', 'Name', 'Session', 'Token', 'Template', 'Service', 'DNS', 'CreateIndex', 'ModifyIndex']);
    assert.deepEqual(q!.Service, { Service: 'web', Failover: { NearestN: 0, Datacenters: null }, OnlyPassing: false, IgnoreCheckIDs: null, Near: '', Tags: ['prod'], NodeMeta: null, ServiceMeta: null, Connect: false });
    assert.equal((await api.get('/v1/query')).json<unknown[]>().length, 1);
    assert.equal((await api.put(`/v1/query/${id}`, { Name: 'my-query', Service: { Service: 'api-eu' } })).status, 200);
    assert.equal((await exec('my-query')).Service, 'api-eu');
    const refusals: [object, string][] = [
      [{ Service: { Service: 'web' } }, 'Invalid prepared query: Must be bound to a session'],
      [{ Name: 'x' }, 'Invalid prepared query: Must provide a Service name to query'],
      [{ Name: 'x', Service: { Service: 'web', Failover: { NearestN: -1 } } }, "Invalid prepared query: Bad NearestN '-1', must be >= 0"],
      [{ Name: 'x', Service: { Service: 'web' }, DNS: { TTL: 'soon' } }, 'Invalid prepared query: Bad DNS TTL \'soon\': time: invalid duration "soon"'],
      [{ Name: 'x', Service: { Service: 'web' }, Token: '<hidden>' }, "Invalid prepared query: Bad Token '<hidden>', it looks like a query definition with a redacted token was submitted"],
      [{ Name: 'x', Session: 'nope', Service: { Service: 'web' } }, 'invalid session "nope"'],
      [{ Name: 'MY-QUERY', Service: { Service: 'web' } }, "name 'MY-QUERY' aliases an existing query name"],
      [{ Name: id, Service: { Service: 'web' } }, `name '${id}' aliases an existing query ID`],
      [{ ID: id, Name: 'y', Service: { Service: 'web' } }, 'ID must be empty when creating a new prepared query'],
      [{ Name: 't', Template: { Type: 'bogus' }, Service: { Service: 'web' } }, "failed compiling template: Bad Template.Type 'bogus'"],
      [{ Name: 't', Template: { Type: 'name_prefix_match', Regexp: '(' }, Service: { Service: 'web' } }, 'failed compiling template: Bad Regexp: error parsing regexp: missing closing ): `(`'],
    ];
    for (const [body, text] of refusals) {
      const r = await api.req('POST', '/v1/query', body);
      assert.deepEqual([r.status, r.text], [500, text], JSON.stringify(body));
    }
    const bad = await api.req('POST', '/v1/query', { Name: 3 });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /^Request decode failed: json: cannot unmarshal number/);
    assert.deepEqual([(await api.get('/v1/query/00000000-0000-0000-0000-000000000000')).status], [404]);
    assert.equal((await api.get('/v1/query/nope/execute')).text, 'Query not found');
    assert.deepEqual([(await api.del('/v1/query/00000000-0000-0000-0000-000000000000')).text], ["Cannot modify non-existent prepared query: '00000000-0000-0000-0000-000000000000'"]);
    assert.equal((await api.del(`/v1/query/${id}`)).status, 200);
    assert.deepEqual((await api.get('/v1/query')).json(), []);
  });

  it('executes: health, tags with !tag, IgnoreCheckIDs, meta, limit, Near, and the answer shape', async () => {
    const id = await create({ Name: 'web-all', Service: { Service: 'web' }, DNS: { TTL: '7s' } });
    const all = await exec(id);
    assert.deepEqual(Object.keys(all), ['Service', 'Nodes', 'DNS', 'Datacenter', 'Failovers', 'Index', 'LastContact', 'KnownLeader', 'ConsistencyLevel', 'NotModified']);
    assert.deepEqual([all.Service, all.DNS, all.Datacenter, all.Failovers], ['web', { TTL: '7s' }, 'dc1', 0]);
    assert.deepEqual(nodes(all), ['n1', 'n2', 'n3']); // critical n4 dropped, warning kept
    const q = async (service: object): Promise<string[]> => nodes(await exec(await create({ Name: `q${Math.random()}`, Service: { Service: 'web', ...service } })));
    assert.deepEqual(await q({ OnlyPassing: true }), ['n1', 'n2']);
    assert.deepEqual(await q({ IgnoreCheckIDs: ['web4-crit'] }), ['n1', 'n2', 'n3', 'n4']);
    assert.deepEqual(await q({ Tags: ['prod', '!V1'] }), ['n2']);
    assert.deepEqual(await q({ Tags: ['v2'] }), ['n2', 'n3']);
    assert.deepEqual(await q({ NodeMeta: { rack: 'a' } }), ['n1']);
    assert.deepEqual(await q({ ServiceMeta: { ver: '2' } }), ['n2']);
    assert.equal((await exec('web-all', '?limit=1')).Nodes.length, 1);
    assert.equal((await api.get('/v1/query/web-all/execute?limit=x')).text, 'Bad limit: strconv.Atoi: parsing "x": invalid syntax');
    const near = await create({ Name: 'web-near', Service: { Service: 'web', Near: '_agent' } });
    for (let i = 0; i < 10; i++) assert.equal((await exec(near)).Nodes[0]!.Node.Node, 'n2');
    for (let i = 0; i < 5; i++) assert.equal((await exec('web-all', '?near=n3')).Nodes[0]!.Node.Node, 'n3');
  });

  it('templates: name prefix match with regexp captures, explain shows the rendered query', async () => {
    await create({ Name: 'geo-', Template: { Type: 'name_prefix_match', Regexp: '^geo-(.+?)-(eu|us)$' }, Service: { Service: '${match(1)}-${match(2)}', Tags: ['${name.suffix}'] }, DNS: { TTL: '3s' } });
    const r = await exec('geo-api-eu');
    assert.equal(r.Service, 'api-eu');
    assert.deepEqual(nodes(r), []); // tag "api-eu" is not on the instance
    const ex = await api.get('/v1/query/geo-api-eu/explain');
    assert.equal(ex.status, 200, ex.text);
    const { Query } = ex.json<{ Query: { Name: string; Service: { Service: string; Tags: string[] } } }>();
    assert.deepEqual([Query.Name, Query.Service.Service, Query.Service.Tags], ['geo-', 'api-eu', ['api-eu']]);
    const plain = await create({ Name: 'svc-', Template: { Type: 'name_prefix_match' }, Service: { Service: '${name.suffix}' } });
    assert.deepEqual(nodes(await exec('svc-api-eu')), ['n5']);
    const byId = await api.get(`/v1/query/${plain}/execute`);
    assert.deepEqual([byId.status, byId.text], [500, 'prepared query templates can only be resolved up by name, not by ID']);
    const badFmt = await api.req('POST', '/v1/query', { Name: 'z-', Template: { Type: 'name_prefix_match' }, Service: { Service: '${nope}' } });
    assert.deepEqual([badFmt.status, badFmt.text], [500, "failed compiling template: Bad evaluation for '${nope}' in Service.Service: 1:3: unknown variable accessed: nope"]);
  });

  it('a query bound to a session is deleted with the session', async () => {
    const s = (await api.put('/v1/session/create', { Node: 'n1', Checks: [] })).json<{ ID: string }>().ID;
    const id = await create({ Session: s, Service: { Service: 'web' } });
    assert.equal((await api.get(`/v1/query/${id}`)).status, 200);
    assert.equal((await api.put(`/v1/session/destroy/${s}`)).status, 200);
    assert.equal((await api.get(`/v1/query/${id}`)).status, 404);
  });

  it('DNS: <query>.query.consul and <query>.query.dc1.consul over UDP and TCP, with DNS.TTL', async () => {
    await create({ Name: 'dnsq', Service: { Service: 'web', OnlyPassing: true }, DNS: { TTL: '42s' } });
    const a = await dnsUdp(dnsPort, 'dnsq.query.consul', 'A');
    assert.equal(a.rcode, 'NOERROR');
    assert.deepEqual(recs(a).map((x) => x.data as string).sort(), ['10.0.0.1', '10.0.0.2']);
    assert.ok(recs(a).every((x) => x.ttl === 42));
    const srv = await dnsTcp(dnsPort, 'dnsq.query.dc1.consul', 'SRV');
    assert.equal((srv.answers ?? []).length, 2);
    assert.equal((srv.answers ?? [])[0]?.type, 'SRV');
    const tpl = await dnsUdp(dnsPort, 'svc-api-eu.query.consul', 'A');
    assert.deepEqual(recs(tpl).map((x) => [x.data, x.ttl]), [['10.0.0.5', 0]]);
    assert.equal((await dnsUdp(dnsPort, 'missing.query.consul', 'A')).rcode, 'NXDOMAIN');
  });
});

describe('prepared queries with ACLs', () => {
  let t: TestAgent;
  before(async () => {
    t = await startAgent({ nodeName: 'n1', acl: aclConfig({ defaultPolicy: 'deny' }) });
    await seed(client(t.base), AS_MASTER);
  });
  after(() => t.stop());

  it('query rules govern writes and reads, tokens are redacted, execute filters by node read', async () => {
    const api = client(t.base);
    const writer = await makeToken(t.base, 'query_prefix "team-" { policy = "write" } service "web" { policy = "read" } node "n1" { policy = "read" }');
    const W = { 'X-Consul-Token': writer.secret };
    const denied = await api.req('POST', '/v1/query', { Name: 'other', Service: { Service: 'web' } }, W);
    assert.deepEqual([denied.status, denied.text], [403, 'Permission denied']);
    const r = await api.req('POST', '/v1/query', { Name: 'team-web', Service: { Service: 'web' } }, W);
    assert.equal(r.status, 200, r.text);
    const id = r.json<{ ID: string }>().ID;
    const m = await api.req('POST', '/v1/query', { Name: 'secret-one', Token: 'abc', Service: { Service: 'web' } }, AS_MASTER);
    assert.equal(m.status, 200);
    assert.deepEqual((await api.get('/v1/query', W)).json<{ Name: string }[]>().map((q) => q.Name), ['team-web']);
    assert.equal((await api.get('/v1/query', AS_MASTER)).json<unknown[]>().length, 2);
    const mid = m.json<{ ID: string }>().ID;
    assert.equal((await api.get(`/v1/query/${mid}`, W)).status, 403);
    const reader = await makeToken(t.base, 'query_prefix "" { policy = "read" }');
    const seen = (await api.get(`/v1/query/${mid}`, { 'X-Consul-Token': reader.secret })).json<{ Token: string }[]>();
    assert.equal(seen[0]!.Token, '<hidden>');
    assert.equal((await api.get(`/v1/query/${mid}`, AS_MASTER)).json<{ Token: string }[]>()[0]!.Token, 'abc');
    // Only n1 is readable by the writer's token; a token that may not read the service sees nothing.
    const e = (await api.get(`/v1/query/${id}/execute`, W)).json<Exec>();
    assert.deepEqual(nodes(e), ['n1']);
    assert.deepEqual(nodes((await api.get(`/v1/query/${id}/execute`, { 'X-Consul-Token': reader.secret })).json<Exec>()), []);
    assert.equal((await api.del(`/v1/query/${mid}`, W)).status, 403);
    assert.equal((await api.del(`/v1/query/${id}`, W)).status, 200);
  });
});
