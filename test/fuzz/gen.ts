// Seeded generators for the fuzz suites: the same seed gives the same requests, so a failure
// printed with its seed can be replayed. Every address a generated value names is on loopback:
// fuzzed registrations run real HTTP and TCP checks.

export class Rng {
  constructor(private state: number) {}
  /** mulberry32: small, fast and good enough to pick test inputs. */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

export const STRINGS: readonly string[] = [
  '', 'web', 'db', 'a/b/c', '../../etc/passwd', 'x\u0000y', 'line\nbreak', 'tab\there', '\r\nX-Injected: 1', '☃', '\ud800', 'é',
  '"', "'", '\\', '{', '[', 'null', 'true', '0', '-1', '%zz', '%00', '*', '?', '#', ' ', '.', '..', 'service:web', 'serfHealth',
  '127.0.0.1', '::1', '1:2:3:4:5::6:7:8:9', '300.1.1.1', 'http://127.0.0.1:1/', 'https://127.0.0.1:1/x', 'tcp://127.0.0.1:1', '127.0.0.1:1',
  '10s', '0s', '-1s', '1000h', '99999999999h', 'abc', '1ns', '86400s', '(a*){20}b', '((.*){30}){30}x', '[', 'a{1001}',
  'Node == "x"', 'Service.Port > 1 and', 'not', 'Meta.x matches ".*"', '"x" in Tags',
  'passing', 'warning', 'critical', 'maintenance', 'release', 'delete', 'connect-proxy', 'mesh-gateway',
  '00000000-0000-0000-0000-000000000000', 'x'.repeat(300), 'y'.repeat(70_000),
];

export const NUMBERS: readonly number[] = [0, 1, -1, 2, 80, 65535, 65536, 70000, -70000, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, -1e308, 0.5, 1e-9];

export function jsonValue(r: Rng, depth = 0): unknown {
  const k = r.int(depth > 3 ? 4 : 7);
  switch (k) {
    case 0:
      return r.pick(STRINGS);
    case 1:
      return r.pick(NUMBERS);
    case 2:
      return r.chance(0.5);
    case 3:
      return null;
    case 4: {
      const n = r.int(4);
      return Array.from({ length: n }, () => jsonValue(r, depth + 1));
    }
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(4); i > 0; i--) o[r.pick(FIELD_NAMES)] = jsonValue(r, depth + 1);
      return o;
    }
  }
}

const FIELD_NAMES = [
  'Name', 'ID', 'Node', 'Address', 'Port', 'Tags', 'Meta', 'Service', 'Check', 'Checks', 'TTL', 'Interval', 'Timeout', 'HTTP', 'TCP', 'Args',
  'Status', 'Weights', 'Passing', 'Warning', 'Kind', 'Proxy', 'Connect', 'SidecarService', 'LockDelay', 'Behavior', 'NodeChecks', 'ServiceChecks',
  'KV', 'Verb', 'Key', 'Value', 'Flags', 'Index', 'Session', 'TaggedAddresses', 'NodeMeta', 'SkipNodeUpdate', 'DeregisterCriticalServiceAfter',
  'AliasService', 'AliasNode', 'Header', 'Method', 'Body', 'TLSSkipVerify', 'GRPC', 'DockerContainerID', 'ServiceID', 'CheckID', 'Definition',
  'Output', 'Notes', 'EnableTagOverride', 'name', 'port', 'check', 'ttl', 'interval', 'deregister_critical_service_after', 'Datacenter',
];

/** A well-formed body for the route family, the starting point for mutations. */
export function baseBody(r: Rng, path: string): unknown {
  const name = r.pick(['web', 'db', 'api']);
  if (path.includes('/agent/service/register'))
    return { Name: name, ID: `${name}-${r.int(3)}`, Port: 8080, Tags: ['v1'], Meta: { a: 'b' }, Check: r.chance(0.5) ? { TTL: '30s' } : { TCP: '127.0.0.1:1', Interval: '10s' } };
  if (path.includes('/agent/check/register')) return { Name: 'c', ID: `c${r.int(3)}`, TTL: '15s' };
  if (path.includes('/catalog/register'))
    return { Node: `n${r.int(3)}`, Address: '127.0.0.1', Service: { Service: name, Port: 80 }, Check: { CheckID: 'x', Name: 'x', Status: 'passing', ServiceID: name } };
  if (path.includes('/catalog/deregister')) return { Node: `n${r.int(3)}` };
  if (path.includes('/session/create')) return { Name: 'lock', TTL: '15s', LockDelay: '1s', Behavior: 'release' };
  if (path.includes('/acl/policy')) return { Name: `p${r.int(5)}`, Rules: r.pick(['key "a" { policy = "read" }', 'key "x" { policy = "sing" }', '{"key":{"a":{"policy":"write"}}}', 'service_prefix "" { policy = "deny" }', '']) };
  if (path.includes('/acl/token')) return { Description: 'fuzz', Policies: [{ Name: `p${r.int(5)}` }], ExpirationTTL: r.pick(['', '1h', '1s', '-1s']) };
  if (path.includes('/acl/role')) return { Name: `r${r.int(5)}`, Policies: [{ Name: `p${r.int(5)}` }] };
  if (path.includes('/acl/create')) return { Name: 'legacy', Type: r.pick(['client', 'management', 'other']), Rules: 'key "" { policy = "read" }' };
  if (path.includes('/agent/token/')) return { Token: r.pick(['', 'root-secret-0000', 'x']) };
  if (path.includes('/txn'))
    return [
      { KV: { Verb: 'set', Key: `t/${r.int(5)}`, Value: 'YQ==' } },
      { KV: { Verb: 'get-tree', Key: 't/' } },
    ];
  return r.pick([{}, [], 'x', jsonValue(r)]);
}

/** Mutates a JSON value in place-ish: swaps a field's type, drops or adds fields, nests it. */
export function mutate(r: Rng, v: unknown, depth = 0): unknown {
  if (depth > 4 || r.chance(0.15)) return jsonValue(r);
  if (Array.isArray(v)) {
    const out = (v as unknown[]).map((x) => (r.chance(0.4) ? mutate(r, x, depth + 1) : x));
    if (r.chance(0.2)) out.push(jsonValue(r));
    return out;
  }
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (r.chance(0.1)) continue;
      const key = r.chance(0.1) ? k.toLowerCase() : k;
      out[key] = r.chance(0.35) ? mutate(r, x, depth + 1) : x;
    }
    if (r.chance(0.3)) out[r.pick(FIELD_NAMES)] = jsonValue(r);
    return out;
  }
  return jsonValue(r);
}

/** A string percent-encoded for a path segment or query value, sometimes left raw or broken. */
export function urlPiece(r: Rng, s: string): string {
  const k = r.int(10);
  if (k === 0) return s.replace(/[^\x21-\x7e]/g, '').replace(/[?#]/g, ''); // raw where the HTTP parser allows it
  if (k === 1) return '%' + r.pick(['zz', '0', '', 'c3', 'e2%98', 'ff', 'C0%80']);
  return Buffer.from(s, 'utf8').toString('latin1').replace(/[^A-Za-z0-9._~-]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}
