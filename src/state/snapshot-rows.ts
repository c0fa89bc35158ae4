// Row checks for snapshot chunks. A snapshot comes back from disk or from a client (PUT
// /v1/snapshot), and its rows are stored and served as they are, so each must look exactly like
// what applying commands would have produced: every field present with its type, nothing extra
// (an extra field would be served back verbatim). Free-form objects (Meta, Proxy, Definition...)
// are checked only for being objects of the right kind.

type Check = (v: unknown, at: string) => void;

export class RowError extends Error {}

const fail = (at: string, want: string, v: unknown): never => {
  const got = v === null ? 'null' : Array.isArray(v) ? 'array' : Buffer.isBuffer(v) ? 'binary' : typeof v;
  throw new RowError(`${at}: expected ${want}, got ${got}`);
};

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);

export const str: Check = (v, at) => {
  if (typeof v !== 'string') fail(at, 'a string', v);
};
const nonEmpty: Check = (v, at) => {
  str(v, at);
  if (v === '') throw new RowError(`${at}: must not be empty`);
};
const num: Check = (v, at) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(at, 'a number', v);
};
const int: Check = (v, at) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(at, 'an integer', v);
};
/** A raft index: a non-negative integer. */
export const index: Check = (v, at) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(at, 'an index', v);
};
const bool: Check = (v, at) => {
  if (typeof v !== 'boolean') fail(at, 'a boolean', v);
};
const obj: Check = (v, at) => {
  if (!isPlain(v)) fail(at, 'an object', v);
};
const oneOf =
  (...allowed: string[]): Check =>
  (v, at) => {
    if (typeof v !== 'string' || !allowed.includes(v)) fail(at, `one of ${allowed.join(', ')}`, v);
  };
const nullable =
  (c: Check): Check =>
  (v, at) => {
    if (v !== null) c(v, at);
  };
const listOf =
  (c: Check): Check =>
  (v, at) => {
    if (!Array.isArray(v)) return fail(at, 'an array', v);
    v.forEach((x, i) => c(x, `${at}[${i}]`));
  };
const mapOf =
  (c: Check): Check =>
  (v, at) => {
    if (!isPlain(v)) return fail(at, 'an object', v);
    for (const [k, x] of Object.entries(v)) c(x, `${at}.${k}`);
  };

/** An object with exactly these fields (those in `optional` may be absent). */
export function record(fields: Record<string, Check>, optional: Record<string, Check> = {}): Check {
  return (v, at) => {
    if (!isPlain(v)) return fail(at, 'an object', v);
    for (const [k, c] of Object.entries(fields)) {
      if (!(k in v)) throw new RowError(`${at}: missing ${k}`);
      c(v[k], `${at}.${k}`);
    }
    for (const [k, x] of Object.entries(v)) {
      if (k in fields) continue;
      const c = optional[k];
      if (!c) throw new RowError(`${at}: unknown field ${k}`);
      if (x !== undefined) c(x, `${at}.${k}`);
    }
  };
}

/** A fixed-length tuple. */
export function tuple(...items: Check[]): Check {
  return (v, at) => {
    if (!Array.isArray(v)) return fail(at, 'an array', v);
    if (v.length !== items.length) throw new RowError(`${at}: expected ${items.length} fields, got ${v.length}`);
    items.forEach((c, i) => c(v[i], `${at}[${i}]`));
  };
}

const strMap = mapOf(str);

export const nodeRow = record({
  ID: str,
  Node: nonEmpty,
  Address: str,
  Datacenter: str,
  TaggedAddresses: nullable(strMap),
  Meta: nullable(strMap),
  CreateIndex: index,
  ModifyIndex: index,
});

export const serviceRow = record({
  node: nonEmpty,
  svc: record(
    {
      Kind: str,
      ID: nonEmpty,
      Service: nonEmpty,
      Tags: listOf(str),
      Address: str,
      Meta: nullable(strMap),
      Port: int,
      SocketPath: str,
      Weights: record({ Passing: num, Warning: num }),
      EnableTagOverride: bool,
      Proxy: obj,
      Connect: obj,
      CreateIndex: index,
      ModifyIndex: index,
    },
    { TaggedAddresses: mapOf(record({ Address: str, Port: int })) },
  ),
});

export const checkRow = record({
  Node: nonEmpty,
  CheckID: nonEmpty,
  Name: str,
  Status: oneOf('passing', 'warning', 'critical', 'maintenance'),
  Notes: str,
  Output: str,
  ServiceID: str,
  ServiceName: str,
  ServiceTags: listOf(str),
  Type: str,
  Interval: str,
  Timeout: str,
  ExposedPort: int,
  Definition: obj,
  CreateIndex: index,
  ModifyIndex: index,
});

export const sessionRow = record({
  ID: nonEmpty,
  Name: str,
  Node: nonEmpty,
  LockDelay: num,
  Behavior: oneOf('release', 'delete'),
  TTL: str,
  NodeChecks: listOf(str),
  ServiceChecks: nullable(listOf(record({ ID: str }, { Namespace: str }))),
  CreateIndex: index,
  ModifyIndex: index,
});

const flags: Check = (v, at) => {
  // uint64 as canonical decimal text.
  if (typeof v !== 'string' || !/^(0|[1-9]\d{0,19})$/.test(v) || BigInt(v) > 0xffffffffffffffffn) fail(at, 'uint64 flags as decimal text', v);
};
const value: Check = (v, at) => {
  if (v !== null && !Buffer.isBuffer(v)) fail(at, 'binary or null', v);
};

/** [key, flags, value, session, lockIndex, createIndex, modifyIndex] */
export const kvRow = tuple(nonEmpty, flags, value, str, index, index, index);
/** [key, index] */
export const tombRow = tuple(str, index);

const aclIndexes = record({ tokens: index, policies: index, roles: index, authMethods: index, bindingRules: index, bootstrap: index });

export const indexesRecord = record(
  {
    kv: index,
    sessions: index,
    catalog: record({ nodes: index, services: index, checks: index, extinction: index, perService: listOf(tuple(str, index)) }),
  },
  { acl: aclIndexes, queries: index, coordinates: index, autopilot: index, members: index },
);

// ACL rows: exactly the stored shapes of acl/types.ts.
const link = record({ ID: nonEmpty, Name: str });
const serviceIdentity = record({ ServiceName: nonEmpty }, { Datacenters: listOf(str) });
const nodeIdentity = record({ NodeName: nonEmpty, Datacenter: str });

export const aclTokenRow = record({
  AccessorID: nonEmpty,
  SecretID: nonEmpty,
  Description: str,
  Policies: listOf(link),
  Roles: listOf(link),
  ServiceIdentities: listOf(serviceIdentity),
  NodeIdentities: listOf(nodeIdentity),
  Local: bool,
  AuthMethod: str,
  ExpirationTime: str,
  ExpirationTTL: str,
  CreateTime: str,
  Hash: str,
  Type: oneOf('', 'client', 'management'),
  Rules: str,
  CreateIndex: index,
  ModifyIndex: index,
});

export const aclPolicyRow = record({
  ID: nonEmpty,
  Name: nonEmpty,
  Description: str,
  Rules: str,
  Datacenters: listOf(str),
  Hash: str,
  CreateIndex: index,
  ModifyIndex: index,
});

export const aclRoleRow = record({
  ID: nonEmpty,
  Name: nonEmpty,
  Description: str,
  Policies: listOf(link),
  ServiceIdentities: listOf(serviceIdentity),
  NodeIdentities: listOf(nodeIdentity),
  Hash: str,
  CreateIndex: index,
  ModifyIndex: index,
});

export const aclAuthMethodRow = record({
  Name: nonEmpty,
  Type: oneOf('kubernetes', 'jwt'),
  DisplayName: str,
  Description: str,
  MaxTokenTTL: str,
  TokenLocality: oneOf('', 'local', 'global'),
  Config: obj,
  CreateIndex: index,
  ModifyIndex: index,
});

export const aclBindingRuleRow = record({
  ID: nonEmpty,
  Description: str,
  AuthMethod: nonEmpty,
  Selector: str,
  BindType: oneOf('service', 'node', 'role'),
  BindName: nonEmpty,
  CreateIndex: index,
  ModifyIndex: index,
});

const strList = nullable(listOf(str));
export const preparedQueryRow = record({
  ID: nonEmpty,
  Name: str,
  Session: str,
  Token: str,
  Template: record({ Type: str, Regexp: str, RemoveEmptyTags: bool }),
  Service: record({
    Service: str,
    Failover: record({ NearestN: int, Datacenters: strList }),
    OnlyPassing: bool,
    IgnoreCheckIDs: strList,
    Near: str,
    Tags: strList,
    NodeMeta: nullable(strMap),
    ServiceMeta: nullable(strMap),
    Connect: bool,
  }),
  DNS: record({ TTL: str }),
  CreateIndex: index,
  ModifyIndex: index,
});

/** Checks that `rows` is an array of rows each passing `row`. */
export function checkRows(rows: unknown, row: Check, what: string): void {
  if (!Array.isArray(rows)) fail(`${what} rows`, 'an array', rows);
  (rows as unknown[]).forEach((r, i) => row(r, `${what} row ${i}`));
}

/** A coordinate's Vec: exactly Serf's dimensionality of finite numbers. */
const vec: Check = (v, at) => {
  listOf(num)(v, at);
  if ((v as unknown[]).length !== 8) throw new RowError(`${at}: expected 8 components`);
};

export const coordinateRow = record({
  Node: nonEmpty,
  Segment: str,
  Coord: record({ Vec: vec, Error: num, Adjustment: num, Height: num }),
});

export const autopilotRow = record({
  CleanupDeadServers: bool,
  LastContactThreshold: int,
  MaxTrailingLogs: int,
  MinQuorum: int,
  ServerStabilizationTime: int,
  RedundancyZoneTag: str,
  DisableUpgradeMigration: bool,
  UpgradeVersionTag: str,
  CreateIndex: index,
  ModifyIndex: index,
});

const port: Check = (v, at) => {
  int(v, at);
  if ((v as number) < 0 || (v as number) > 65535) throw new RowError(`${at}: expected a port`);
};
/** serf's member statuses: none, alive, leaving, left, failed. */
const memberStatus: Check = (v, at) => {
  int(v, at);
  if ((v as number) < 0 || (v as number) > 4) throw new RowError(`${at}: expected a member status (0-4)`);
};
/** Serf protocol versions are uint8. */
const u8: Check = (v, at) => {
  int(v, at);
  if ((v as number) < 0 || (v as number) > 255) throw new RowError(`${at}: expected a protocol version`);
};
const rfc3339OrEmpty: Check = (v, at) => {
  str(v, at);
  if (v !== '' && Number.isNaN(Date.parse(v as string))) throw new RowError(`${at}: expected an RFC 3339 time`);
};

export const memberRow = record({
  Name: nonEmpty,
  Addr: str,
  Port: port,
  Tags: strMap,
  Status: memberStatus,
  ProtocolMin: u8,
  ProtocolMax: u8,
  ProtocolCur: u8,
  DelegateMin: u8,
  DelegateMax: u8,
  DelegateCur: u8,
  NodeID: str,
  Address: str,
  StatusTime: rfc3339OrEmpty,
  CreateIndex: index,
  ModifyIndex: index,
});
