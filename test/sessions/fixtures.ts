// Shared setup for the session, lock and event tests: catalog registrations (through
// /v1/catalog/register when that endpoint answers, else straight through the log), and small waits.

import type { HealthCheck, NodeService, RegisterRequest } from '../../src/state/catalog-types.js';
import type { TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface CheckSpec {
  CheckID: string;
  Status: string;
  Name?: string;
  ServiceID?: string;
}

export interface ServiceSpec {
  ID: string;
  Service: string;
  Tags?: string[];
  Port?: number;
}

function fullCheck(node: string, c: CheckSpec): Omit<HealthCheck, 'CreateIndex' | 'ModifyIndex'> {
  return {
    Node: node,
    CheckID: c.CheckID,
    Name: c.Name ?? c.CheckID,
    Status: c.Status,
    Notes: '',
    Output: '',
    ServiceID: c.ServiceID ?? '',
    ServiceName: '',
    ServiceTags: [],
    Type: '',
    Interval: '',
    Timeout: '',
    ExposedPort: 0,
    Definition: {},
  };
}

function fullService(s: ServiceSpec): Omit<NodeService, 'CreateIndex' | 'ModifyIndex'> {
  return {
    Kind: '',
    ID: s.ID,
    Service: s.Service,
    Tags: s.Tags ?? [],
    Address: '',
    Meta: null,
    Port: s.Port ?? 0,
    SocketPath: '',
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Proxy: {},
    Connect: {},
  };
}

/** Registers `node` with the given checks (and optionally a service), as /v1/catalog/register does. */
export async function register(t: TestAgent, node: string, checks: CheckSpec[], service?: ServiceSpec): Promise<void> {
  const api = client(t.base);
  const body: Record<string, unknown> = { Node: node, Address: '127.0.0.1', Checks: checks.map((c) => ({ Name: c.CheckID, ...c })) };
  if (service) body.Service = service;
  const res = await api.put('/v1/catalog/register', body);
  if (res.status === 200) return;
  if (res.status !== 404 && res.status !== 405) throw new Error(`catalog register: ${res.status} ${res.text}`);
  const req: RegisterRequest = {
    Node: node,
    ID: '',
    Datacenter: 'dc1',
    Address: '127.0.0.1',
    TaggedAddresses: {},
    NodeMeta: {},
    Service: service ? fullService(service) : null,
    Checks: checks.map((c) => fullCheck(node, c)),
    SkipNodeUpdate: false,
  };
  await t.agent.server.propose({ type: 'register', req });
}

/** The agent's own node with a passing serfHealth, as a real agent has it. */
export function registerSelf(t: TestAgent): Promise<void> {
  return register(t, 'test-node', [{ CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing' }]);
}

/** Deregisters a whole node (or one of its checks). */
export async function deregister(t: TestAgent, node: string, checkID = ''): Promise<void> {
  const api = client(t.base);
  const body: Record<string, unknown> = { Node: node };
  if (checkID) body.CheckID = checkID;
  const res = await api.put('/v1/catalog/deregister', body);
  if (res.status === 200) return;
  if (res.status !== 404 && res.status !== 405) throw new Error(`catalog deregister: ${res.status} ${res.text}`);
  await t.agent.server.propose({ type: 'deregister', req: { Node: node, ServiceID: '', CheckID: checkID } });
}

/** Polls `cond` until it holds or `ms` pass. */
export async function eventually(cond: () => Promise<boolean> | boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
