// Fuzzed HTTP requests for every route family (the fuzz test, and the bench's fuzz load).
import http from 'node:http';
import { baseBody, mutate, NUMBERS, type Rng, STRINGS, urlPiece } from './gen.js';

// `{}` is a path segment the fuzzer fills. PUT /v1/agent/leave is left out: it stops the agent
// (tested on its own), and GET /v1/agent/monitor streams without end (test/http/hardening).
const ROUTES: [string, string][] = [
  ['GET', '/v1/kv/{}'], ['PUT', '/v1/kv/{}'], ['DELETE', '/v1/kv/{}'], ['GET', '/v1/kv/'], ['PUT', '/v1/txn'],
  ['PUT', '/v1/catalog/register'], ['PUT', '/v1/catalog/deregister'], ['GET', '/v1/catalog/datacenters'], ['GET', '/v1/catalog/nodes'],
  ['GET', '/v1/catalog/services'], ['GET', '/v1/catalog/service/{}'], ['GET', '/v1/catalog/connect/{}'], ['GET', '/v1/catalog/node/{}'],
  ['GET', '/v1/catalog/node-services/{}'],
  ['GET', '/v1/health/node/{}'], ['GET', '/v1/health/checks/{}'], ['GET', '/v1/health/service/{}'], ['GET', '/v1/health/connect/{}'], ['GET', '/v1/health/state/{}'],
  ['GET', '/v1/agent/self'], ['GET', '/v1/agent/members'], ['GET', '/v1/agent/services'], ['GET', '/v1/agent/service/{}'], ['GET', '/v1/agent/checks'],
  ['PUT', '/v1/agent/service/register'], ['PUT', '/v1/agent/service/deregister/{}'], ['PUT', '/v1/agent/service/maintenance/{}'], ['PUT', '/v1/agent/maintenance'],
  ['PUT', '/v1/agent/check/register'], ['PUT', '/v1/agent/check/deregister/{}'], ['PUT', '/v1/agent/check/pass/{}'], ['PUT', '/v1/agent/check/warn/{}'],
  ['PUT', '/v1/agent/check/fail/{}'], ['PUT', '/v1/agent/check/update/{}'], ['GET', '/v1/agent/health/service/id/{}'], ['GET', '/v1/agent/health/service/name/{}'],
  ['PUT', '/v1/agent/force-leave/{}'], ['GET', '/v1/agent/metrics'], ['PUT', '/v1/agent/reload'],
  ['PUT', '/v1/session/create'], ['PUT', '/v1/session/destroy/{}'], ['GET', '/v1/session/info/{}'], ['GET', '/v1/session/node/{}'], ['GET', '/v1/session/list'],
  ['PUT', '/v1/session/renew/{}'], ['PUT', '/v1/event/fire/{}'], ['GET', '/v1/event/list'],
  ['GET', '/v1/status/leader'], ['GET', '/v1/status/peers'], ['GET', '/v1/operator/raft/configuration'], ['GET', '/v1/snapshot'], ['PUT', '/v1/snapshot'],
  ['GET', '/v1/acl/tokens'], ['PUT', '/v1/acl/token'], ['GET', '/v1/acl/token/{}'], ['DELETE', '/v1/acl/token/{}'], ['GET', '/v1/acl/token/self'], ['PUT', '/v1/acl/policy'],
  ['GET', '/v1/acl/policy/{}'], ['PUT', '/v1/acl/role'], ['PUT', '/v1/acl/bootstrap'], ['PUT', '/v1/acl/create'], ['POST', '/v1/acl/rules/translate'], ['PUT', '/v1/agent/token/{}'],
  ['GET', '/v1/internal/ui/services'], ['GET', '/v1/internal/ui/node/{}'], ['GET', '/v1/coordinate/nodes'], ['GET', '/v1/query'], ['GET', '/'], ['GET', '/ui/'],
];
// Joining dials the address it is given (and looks names up): only loopback IPs, some with bad ports.
const JOIN_TARGETS = ['127.0.0.1', '127.0.0.1:1', '[::1]:1', '127.0.0.1:99999', '[::1]:x'];
const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS', 'PROPFIND'];
const PARAMS = [
  'index', 'wait', 'recurse', 'keys', 'separator', 'raw', 'cas', 'flags', 'acquire', 'release', 'filter', 'dc', 'stale', 'consistent', 'pretty', 'tag',
  'passing', 'node-meta', 'near', 'token', 'hash', 'format', 'replace-existing-checks', 'note', 'enable', 'reason', 'name', 'node', 'service', 'limit',
  'cached', 'wan', 'segment', 'prune', 'ns', 'key',
];

export interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export function generate(r: Rng): Sent {
  const [routeMethod, template] = r.pick(ROUTES);
  const method = r.chance(0.05) ? r.pick(METHODS) : routeMethod;
  let path = template.includes('/agent/join/')
    ? template
    : template.replace('{}', () => (r.chance(0.7) ? urlPiece(r, r.pick(STRINGS)) : r.pick(['web', 'db', 'c0', 'service:web-1', 'n1', 'test-node', 'a/b'])));
  if (r.chance(0.02)) path = `/v1/agent/join/${r.pick(JOIN_TARGETS)}`;
  if (r.chance(0.05)) path = path.replace('/v1/', r.pick(['/v1//', '/v2/', '//v1/', '/v1/./', '/V1/']));
  if (r.chance(0.03)) path += '/' + urlPiece(r, r.pick(STRINGS));
  const query: string[] = [];
  for (let i = r.int(4); i > 0; i--) {
    const name = r.pick(PARAMS);
    if (r.chance(0.2)) query.push(name);
    else query.push(`${name}=${urlPiece(r, r.chance(0.5) ? r.pick(STRINGS) : String(r.pick(NUMBERS)))}`);
  }
  // A blocking query waits for its wait time: keep most short so the run stays bounded.
  if (query.some((q) => q.startsWith('index=') || q.startsWith('hash=')) && r.chance(0.9)) query.push('wait=20ms');
  const url = query.length ? `${path}?${query.join('&')}` : path;
  const headers: Record<string, string> = {};
  // With ACLs on, the master token (test/helpers/acl) lets some requests through to the handlers.
  if (r.chance(0.5)) headers['X-Consul-Token'] = r.pick(['', 'x', 'root-secret-0000', 'root-secret-0000', 'root-secret-0000', '00000000-0000-0000-0000-000000000002', 'anonymous', 'é']);
  if (r.chance(0.1)) headers.Authorization = r.pick(['Bearer', 'Bearer x', 'Basic eA==', 'bearer  y ']);
  if (r.chance(0.1)) headers.Accept = r.pick(['text/plain', 'application/json', '*/*']);
  if (r.chance(0.1)) headers['Content-Type'] = r.pick(['application/json', 'text/plain', 'application/octet-stream']);
  let body: Buffer | undefined;
  if (method === 'PUT' || method === 'POST' || r.chance(0.05)) {
    const k = r.int(10);
    if (k < 6) body = Buffer.from(JSON.stringify(mutate(r, baseBody(r, path))));
    else if (k === 6) body = r.bytes(r.int(300));
    else if (k === 7) body = Buffer.from('['.repeat(r.int(20_000)));
    else if (k === 8) body = Buffer.from(JSON.stringify(baseBody(r, path)).slice(0, r.int(40)));
    else body = Buffer.from(JSON.stringify(baseBody(r, path)));
  }
  return { method, path: url, headers, body };
}

export function send(port: number, s: Sent, id: number): Promise<{ status: number; body: string } | 'timeout'> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: s.method, path: s.path, headers: { ...s.headers, 'X-Fuzz-Id': String(id), ...(s.body ? { 'Content-Length': String(s.body.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 300) });
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      resolve('timeout');
    }, 2000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(s.body);
  });
}

