// Service and check definitions as Consul 1.10 decodes them (structs.ServiceDefinition,
// structs.CheckType, structs.CheckDefinition): from the HTTP API and from config files alike.
// Keys match case-insensitively, as Go's encoding/json does, and the snake_case spellings Consul
// translates (enable_tag_override, deregister_critical_service_after, args, …) are accepted too.
// Durations are Go duration strings or numbers of nanoseconds; other types are ignored, as the
// interface{}-typed fields of Consul's decoders ignore them.

import { isIP } from 'node:net';
import type { NodeService, ServiceAddress, Weights } from '../state/catalog-types.js';
import { durationFromNumber, parseDuration } from '../util/duration.js';
import { isPlainObject, jsonKind, unmarshalTypeError } from '../util/json.js';

/** A decode failure: the text after "Request decode failed: ". */
export class DecodeError extends Error {}

/** structs.CheckType. Durations are in nanoseconds (Go's time.Duration), as Consul persists them. */
export interface CheckType {
  CheckID: string;
  Name: string;
  Status: string;
  Notes: string;
  ScriptArgs: string[] | null;
  HTTP: string;
  Header: Record<string, string[]> | null;
  Method: string;
  Body: string;
  DisableRedirects: boolean;
  TCP: string;
  Interval: number;
  AliasNode: string;
  AliasService: string;
  DockerContainerID: string;
  Shell: string;
  GRPC: string;
  GRPCUseTLS: boolean;
  H2PING: string;
  TLSServerName: string;
  TLSSkipVerify: boolean;
  Timeout: number;
  TTL: number;
  SuccessBeforePassing: number;
  FailuresBeforeCritical: number;
  DeregisterCriticalServiceAfter: number;
  OutputMaxSize: number;
}

/** structs.CheckDefinition: a check registered on its own (PUT /v1/agent/check/register, `check` blocks). */
export interface CheckDefinition extends CheckType {
  ID: string;
  ServiceID: string;
  Token: string;
}

/** structs.ServiceDefinition. */
export interface ServiceDefinition {
  Kind: string;
  ID: string;
  Name: string;
  Tags: string[] | null;
  Address: string;
  TaggedAddresses: Record<string, ServiceAddress> | null;
  Meta: Record<string, string> | null;
  Port: number;
  SocketPath: string;
  Check: CheckType;
  Checks: CheckType[];
  Weights: Weights | null;
  Token: string;
  EnableTagOverride: boolean;
  /** Deprecated (1.2.0–1.2.3) spelling of Proxy.DestinationServiceName. */
  ProxyDestination: string;
  Proxy: Record<string, unknown> | null;
  Connect: Record<string, unknown> | null;
}

/** A service as the agent keeps it: structs.NodeService without the raft indexes. */
export type LocalService = Omit<NodeService, 'CreateIndex' | 'ModifyIndex'>;

// ------------------------------------------------------------------ Go-style decoding

type Kind = 'string' | 'bool' | 'int' | 'strings' | 'stringMap' | 'header' | 'duration' | 'object' | 'taggedAddresses' | 'weights' | 'check' | 'checks' | 'ignore';

interface Field {
  name: string;
  kind: Kind;
  /** Other spellings (compared case-insensitively, like the canonical name). */
  aliases?: string[];
}

const GO_TYPE: Record<Kind, string> = {
  string: 'string',
  bool: 'bool',
  int: 'int',
  strings: '[]string',
  stringMap: 'map[string]string',
  header: 'map[string][]string',
  duration: 'time.Duration',
  object: 'map[string]interface {}',
  taggedAddresses: 'map[string]structs.ServiceAddress',
  weights: 'structs.Weights',
  check: 'structs.CheckType',
  checks: 'structs.CheckTypes',
  ignore: 'interface {}',
};

function typeError(v: unknown, where: string, goType: string): DecodeError {
  return new DecodeError(unmarshalTypeError(v, where, goType));
}

const CHECK_FIELDS: Field[] = [
  { name: 'CheckID', kind: 'string', aliases: ['check_id'] },
  { name: 'Name', kind: 'string' },
  { name: 'Status', kind: 'string' },
  { name: 'Notes', kind: 'string' },
  { name: 'ScriptArgs', kind: 'strings', aliases: ['args', 'script_args'] },
  { name: 'HTTP', kind: 'string' },
  { name: 'Header', kind: 'header' },
  { name: 'Method', kind: 'string' },
  { name: 'Body', kind: 'string' },
  { name: 'DisableRedirects', kind: 'bool', aliases: ['disable_redirects'] },
  { name: 'TCP', kind: 'string' },
  { name: 'Interval', kind: 'duration' },
  { name: 'AliasNode', kind: 'string', aliases: ['alias_node'] },
  { name: 'AliasService', kind: 'string', aliases: ['alias_service'] },
  { name: 'DockerContainerID', kind: 'string', aliases: ['docker_container_id'] },
  { name: 'Shell', kind: 'string' },
  { name: 'GRPC', kind: 'string' },
  { name: 'GRPCUseTLS', kind: 'bool', aliases: ['grpc_use_tls'] },
  { name: 'H2PING', kind: 'string' },
  { name: 'TLSServerName', kind: 'string', aliases: ['tls_server_name'] },
  { name: 'TLSSkipVerify', kind: 'bool', aliases: ['tls_skip_verify'] },
  { name: 'Timeout', kind: 'duration' },
  { name: 'TTL', kind: 'duration' },
  { name: 'SuccessBeforePassing', kind: 'int', aliases: ['success_before_passing'] },
  { name: 'FailuresBeforeCritical', kind: 'int', aliases: ['failures_before_critical'] },
  { name: 'DeregisterCriticalServiceAfter', kind: 'duration', aliases: ['deregister_critical_service_after'] },
  { name: 'OutputMaxSize', kind: 'int', aliases: ['output_max_size'] },
  // Accepted and ignored inside a service's checks (Consul decodes and drops them).
  { name: 'ServiceID', kind: 'ignore', aliases: ['service_id'] },
  { name: 'Token', kind: 'ignore' },
];

const CHECK_DEF_FIELDS: Field[] = [
  { name: 'ID', kind: 'string', aliases: ['CheckID', 'check_id'] },
  ...CHECK_FIELDS.filter((f) => f.name !== 'CheckID' && f.name !== 'ServiceID' && f.name !== 'Token'),
  { name: 'ServiceID', kind: 'string', aliases: ['service_id'] },
  { name: 'Token', kind: 'string' },
];

const SERVICE_FIELDS: Field[] = [
  { name: 'Kind', kind: 'string' },
  { name: 'ID', kind: 'string' },
  { name: 'Name', kind: 'string' },
  { name: 'Tags', kind: 'strings' },
  { name: 'Address', kind: 'string' },
  { name: 'TaggedAddresses', kind: 'taggedAddresses', aliases: ['tagged_addresses'] },
  { name: 'Meta', kind: 'stringMap' },
  // Any int, as Consul (no range check); DNS answers Go's uint16(Port) (dns/resolve.ts).
  { name: 'Port', kind: 'int' },
  { name: 'SocketPath', kind: 'string', aliases: ['socket_path'] },
  { name: 'Check', kind: 'check' },
  { name: 'Checks', kind: 'checks' },
  { name: 'Weights', kind: 'weights' },
  { name: 'Token', kind: 'string' },
  { name: 'EnableTagOverride', kind: 'bool', aliases: ['enable_tag_override'] },
  { name: 'ProxyDestination', kind: 'string', aliases: ['proxy_destination'] },
  { name: 'Proxy', kind: 'object' },
  { name: 'Connect', kind: 'object' },
];

type FieldIndex = Map<string, Field>;

function index(fields: Field[]): FieldIndex {
  const m: FieldIndex = new Map();
  for (const f of fields) {
    m.set(f.name.toLowerCase(), f);
    for (const a of f.aliases ?? []) m.set(a.toLowerCase(), f);
  }
  return m;
}

const CHECK_INDEX = index(CHECK_FIELDS);
const CHECK_DEF_INDEX = index(CHECK_DEF_FIELDS);
const SERVICE_INDEX = index(SERVICE_FIELDS);

function decodeInt(v: unknown, where: string): number {
  if (typeof v !== 'number') throw typeError(v, where, 'int');
  if (!Number.isInteger(v)) throw typeError(v, where, 'int');
  return v;
}

function decodeStr(v: unknown, where: string): string {
  if (typeof v !== 'string') throw typeError(v, where, 'string');
  return v;
}

function decodeDuration(v: unknown): number {
  if (typeof v === 'string') {
    try {
      return parseDuration(v);
    } catch (e) {
      throw new DecodeError((e as Error).message);
    }
  }
  if (typeof v === 'number') return durationFromNumber(v);
  return 0;
}

function decodeValue(f: Field, v: unknown, where: string): unknown {
  switch (f.kind) {
    case 'string':
      return decodeStr(v, where);
    case 'bool':
      if (typeof v !== 'boolean') throw typeError(v, where, 'bool');
      return v;
    case 'int':
      return decodeInt(v, where);
    case 'duration':
      return decodeDuration(v);
    case 'strings':
      if (!Array.isArray(v)) throw typeError(v, where, '[]string');
      return v.map((x) => (x === null ? '' : decodeStr(x, where)));
    case 'stringMap': {
      if (!isPlainObject(v)) throw typeError(v, where, 'map[string]string');
      const out: Record<string, string> = {};
      for (const [k, x] of Object.entries(v)) out[k] = x === null ? '' : decodeStr(x, where);
      return out;
    }
    case 'header': {
      if (!isPlainObject(v)) throw typeError(v, where, 'map[string][]string');
      const out: Record<string, string[]> = {};
      for (const [k, x] of Object.entries(v)) {
        if (x === null) {
          out[k] = [];
          continue;
        }
        if (!Array.isArray(x)) throw typeError(x, where, '[]string');
        out[k] = x.map((s) => decodeStr(s, where));
      }
      return out;
    }
    case 'object':
      if (!isPlainObject(v)) throw typeError(v, where, GO_TYPE.object);
      return v;
    case 'taggedAddresses': {
      if (!isPlainObject(v)) throw typeError(v, where, GO_TYPE.taggedAddresses);
      const out: Record<string, ServiceAddress> = {};
      for (const [k, x] of Object.entries(v)) {
        if (x === null) {
          out[k] = { Address: '', Port: 0 };
          continue;
        }
        if (!isPlainObject(x)) throw typeError(x, where, 'structs.ServiceAddress');
        const sa: ServiceAddress = { Address: '', Port: 0 };
        for (const [kk, y] of Object.entries(x)) {
          if (y === null) continue;
          const lk = kk.toLowerCase();
          if (lk === 'address') sa.Address = decodeStr(y, `${where}.Address`);
          else if (lk === 'port') sa.Port = decodeInt(y, `${where}.Port`);
        }
        out[k] = sa;
      }
      return out;
    }
    case 'weights': {
      if (!isPlainObject(v)) throw typeError(v, where, GO_TYPE.weights);
      const w: Weights = { Passing: 0, Warning: 0 };
      for (const [kk, y] of Object.entries(v)) {
        if (y === null) continue;
        const lk = kk.toLowerCase();
        if (lk === 'passing') w.Passing = decodeInt(y, `${where}.Passing`);
        else if (lk === 'warning') w.Warning = decodeInt(y, `${where}.Warning`);
      }
      return w;
    }
    case 'check':
      if (!isPlainObject(v)) throw typeError(v, where, GO_TYPE.check);
      return decodeCheckType(v);
    case 'checks':
      if (!Array.isArray(v)) throw typeError(v, where, GO_TYPE.checks);
      return v.map((x) => {
        if (x === null) return emptyCheckType();
        if (!isPlainObject(x)) throw typeError(x, where, GO_TYPE.check);
        return decodeCheckType(x);
      });
    case 'ignore':
      return undefined;
  }
}

function decodeStruct(raw: Record<string, unknown>, idx: FieldIndex, structName: string, into: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(raw)) {
    const f = idx.get(k.toLowerCase());
    if (!f || v === null || v === undefined) continue;
    const val = decodeValue(f, v, `${structName}.${f.name}`);
    if (val !== undefined) into[f.name] = val;
  }
}

export function emptyCheckType(): CheckType {
  return {
    CheckID: '',
    Name: '',
    Status: '',
    Notes: '',
    ScriptArgs: null,
    HTTP: '',
    Header: null,
    Method: '',
    Body: '',
    DisableRedirects: false,
    TCP: '',
    Interval: 0,
    AliasNode: '',
    AliasService: '',
    DockerContainerID: '',
    Shell: '',
    GRPC: '',
    GRPCUseTLS: false,
    H2PING: '',
    TLSServerName: '',
    TLSSkipVerify: false,
    Timeout: 0,
    TTL: 0,
    SuccessBeforePassing: 0,
    FailuresBeforeCritical: 0,
    DeregisterCriticalServiceAfter: 0,
    OutputMaxSize: 0,
  };
}

function topLevel(raw: unknown, goType: string): Record<string, unknown> {
  if (raw === undefined) throw new DecodeError('EOF');
  if (raw === null) return {};
  if (!isPlainObject(raw)) throw new DecodeError(`json: cannot unmarshal ${jsonKind(raw)} into Go value of type ${goType}`);
  return raw;
}

export function decodeCheckType(raw: Record<string, unknown>): CheckType {
  const c = emptyCheckType();
  decodeStruct(raw, CHECK_INDEX, 'CheckType', c as unknown as Record<string, unknown>);
  return c;
}

/** Decodes a PUT /v1/agent/check/register body (or a config-file check); throws DecodeError. */
export function decodeCheckDefinition(raw: unknown): CheckDefinition {
  const obj = topLevel(raw, 'structs.CheckDefinition');
  const c: CheckDefinition = { ...emptyCheckType(), ID: '', ServiceID: '', Token: '' };
  decodeStruct(obj, CHECK_DEF_INDEX, 'CheckDefinition', c as unknown as Record<string, unknown>);
  return c;
}

/** Decodes a PUT /v1/agent/service/register body (or a config-file service); throws DecodeError. */
export function decodeServiceDefinition(raw: unknown): ServiceDefinition {
  const obj = topLevel(raw, 'structs.ServiceDefinition');
  const s: ServiceDefinition = {
    Kind: '',
    ID: '',
    Name: '',
    Tags: null,
    Address: '',
    TaggedAddresses: null,
    Meta: null,
    Port: 0,
    SocketPath: '',
    Check: emptyCheckType(),
    Checks: [],
    Weights: null,
    Token: '',
    EnableTagOverride: false,
    ProxyDestination: '',
    Proxy: null,
    Connect: null,
  };
  decodeStruct(obj, SERVICE_INDEX, 'ServiceDefinition', s as unknown as Record<string, unknown>);
  return s;
}

// ------------------------------------------------------------------ structs.CheckType methods

export const isScript = (c: CheckType): boolean => (c.ScriptArgs?.length ?? 0) > 0;
export const isTTL = (c: CheckType): boolean => c.TTL > 0;
export const isHTTP = (c: CheckType): boolean => c.HTTP !== '' && c.Interval > 0;
export const isTCP = (c: CheckType): boolean => c.TCP !== '' && c.Interval > 0;
export const isGRPC = (c: CheckType): boolean => c.GRPC !== '' && c.Interval > 0;
export const isH2PING = (c: CheckType): boolean => c.H2PING !== '' && c.Interval > 0;
export const isAlias = (c: CheckType): boolean => c.AliasNode !== '' || c.AliasService !== '';
export const isDocker = (c: CheckType): boolean => c.DockerContainerID !== '' && isScript(c) && c.Interval > 0;
export const isMonitor = (c: CheckType): boolean => isScript(c) && c.DockerContainerID === '' && c.Interval > 0;

/** CheckType.Empty(): every field at its zero value. */
export function isEmptyCheckType(c: CheckType): boolean {
  return JSON.stringify(c) === JSON.stringify(emptyCheckType());
}

/** CheckType.Type(): the Type shown on the check. */
export function checkTypeName(c: CheckType): string {
  if (isGRPC(c)) return 'grpc';
  if (isHTTP(c)) return 'http';
  if (isTTL(c)) return 'ttl';
  if (isTCP(c)) return 'tcp';
  if (isAlias(c)) return 'alias';
  if (isDocker(c)) return 'docker';
  if (isScript(c)) return 'script';
  if (isH2PING(c)) return 'h2ping';
  return '';
}

/** CheckType.Validate(): null when valid, else Consul's reason. */
export function validateCheckType(c: CheckType): string | null {
  const intervalCheck = isScript(c) || c.HTTP !== '' || c.TCP !== '' || c.GRPC !== '' || c.H2PING !== '';
  if (c.Interval > 0 && c.TTL > 0) return 'Interval and TTL cannot both be specified';
  if (intervalCheck && c.Interval <= 0) return 'Interval must be > 0 for Script, HTTP, H2PING, or TCP checks';
  if (intervalCheck && isAlias(c)) return 'Interval cannot be set for Alias checks';
  if (isAlias(c) && c.TTL > 0) return 'TTL must be not be set for Alias checks';
  if (!intervalCheck && !isAlias(c) && c.TTL <= 0) return 'TTL must be > 0 for TTL checks';
  if (c.OutputMaxSize < 0) return 'MaxOutputMaxSize must be positive';
  return null;
}

/** structs.ValidStatus */
export function validStatus(s: string): boolean {
  return s === 'passing' || s === 'warning' || s === 'critical';
}

/** ServiceDefinition.CheckTypes(): the service's Check plus Checks, each validated. */
export function serviceCheckTypes(s: ServiceDefinition): CheckType[] {
  const out: CheckType[] = [];
  if (!isEmptyCheckType(s.Check)) {
    const err = validateCheckType(s.Check);
    if (err) throw new Error(err);
    out.push(s.Check);
  }
  for (const c of s.Checks) {
    const err = validateCheckType(c);
    if (err) throw new Error(err);
    out.push(c);
  }
  return out;
}

/** CheckDefinition.CheckType() */
export function checkDefinitionType(d: CheckDefinition): CheckType {
  const { ID, ServiceID: _s, Token: _t, ...rest } = d;
  return { ...rest, CheckID: ID };
}

// ------------------------------------------------------------------ service validation

const PROXY_KEYS: Record<string, string> = {
  destination_service_name: 'DestinationServiceName',
  destination_service_id: 'DestinationServiceID',
  local_service_address: 'LocalServiceAddress',
  local_service_port: 'LocalServicePort',
  local_service_socket_path: 'LocalServiceSocketPath',
  mesh_gateway: 'MeshGateway',
  transparent_proxy: 'TransparentProxy',
  upstreams: 'Upstreams',
  expose: 'Expose',
  mode: 'Mode',
  config: 'Config',
  destination_name: 'DestinationName',
  destination_type: 'DestinationType',
  destination_namespace: 'DestinationNamespace',
  datacenter: 'Datacenter',
  local_bind_address: 'LocalBindAddress',
  local_bind_port: 'LocalBindPort',
  local_bind_socket_path: 'LocalBindSocketPath',
  local_bind_socket_mode: 'LocalBindSocketMode',
  checks: 'Checks',
  paths: 'Paths',
  path: 'Path',
  local_path_port: 'LocalPathPort',
  listener_port: 'ListenerPort',
  protocol: 'Protocol',
  outbound_listener_port: 'OutboundListenerPort',
  dialed_directly: 'DialedDirectly',
};

/** Translates snake_case proxy keys to Consul's names, leaving opaque Config maps untouched. */
function translateProxy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(translateProxy);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const name = PROXY_KEYS[k] ?? k;
    out[name] = name === 'Config' ? x : translateProxy(x);
  }
  return out;
}

/** The Proxy of a NodeService as Consul renders it (Mode, MeshGateway and Expose always present). */
export function nodeServiceProxy(p: Record<string, unknown> | null): Record<string, unknown> {
  const t = (p ? translateProxy(p) : {}) as Record<string, unknown>;
  return { Mode: '', MeshGateway: {}, Expose: {}, ...t };
}

const KIND_CONNECT_PROXY = 'connect-proxy';

function multiError(errs: string[]): string {
  const head = errs.length === 1 ? '1 error occurred:' : `${errs.length} errors occurred:`;
  return `${head}\n${errs.map((e) => `\t* ${e}`).join('\n')}\n\n`;
}

/** ServiceDefinition.NodeService(): what the agent stores (ID defaults to Name). */
export function definitionToService(s: ServiceDefinition): LocalService {
  const connect: Record<string, unknown> = {};
  if (s.Connect && s.Connect.Native === true) connect.Native = true;
  const svc: LocalService = {
    Kind: s.Kind,
    ID: s.ID || s.Name,
    Service: s.Name,
    Tags: s.Tags ?? [],
    Address: s.Address,
    Meta: s.Meta,
    Port: s.Port,
    SocketPath: s.SocketPath,
    Weights: s.Weights ?? { Passing: 1, Warning: 1 },
    EnableTagOverride: s.EnableTagOverride,
    Proxy: nodeServiceProxy(s.Proxy),
    Connect: connect,
  };
  // The deprecated ProxyDestination still works, as Consul keeps it working.
  if (s.ProxyDestination !== '' && !svc.Proxy.DestinationServiceName) svc.Proxy = { ...svc.Proxy, DestinationServiceName: s.ProxyDestination };
  if (s.TaggedAddresses && Object.keys(s.TaggedAddresses).length > 0) svc.TaggedAddresses = { ...s.TaggedAddresses };
  return svc;
}

/** structs.ValidateWeights */
export function validateWeights(w: Weights): string | null {
  if (w.Passing < 1) return 'Passing must be greater than 0';
  if (w.Warning < 0) return 'Warning must be greater or equal than 0';
  if (w.Passing > 65535 || w.Warning > 65535) return 'DNS Weight must be between 0 and 65535';
  return null;
}

const META_KEY = /^[a-zA-Z0-9_-]+$/;

/** structs.ValidateServiceMetadata (validateMetadata for typical services). */
export function validateServiceMeta(meta: Record<string, string> | null): string | null {
  if (!meta) return null;
  const entries = Object.entries(meta);
  if (entries.length > 64) return 'Node metadata cannot contain more than 64 key/value pairs';
  for (const [k, v] of entries) {
    let err: string | null = null;
    if (k === '') err = 'Key cannot be blank';
    else if (!META_KEY.test(k)) err = 'Key contains invalid characters';
    else if (k.length > 128) err = 'Key is too long (limit: 128 characters)';
    else if (k.startsWith('consul-')) err = "Key prefix 'consul-' is reserved for internal use";
    else if (v.length > 512) err = 'Value is too long (limit: 512 characters)';
    if (err) return `Couldn't load metadata pair ('${k}', '${v}'): ${err}`;
  }
  return null;
}

/** NodeService.Validate() for the kinds this agent handles. */
export function validateNodeService(s: LocalService): string | null {
  const errs: string[] = [];
  if (s.Kind === KIND_CONNECT_PROXY) {
    const dest = typeof s.Proxy.DestinationServiceName === 'string' ? s.Proxy.DestinationServiceName : '';
    if (dest.trim() === '') errs.push('Proxy.DestinationServiceName must be non-empty for Connect proxy services');
    if (dest === '*') errs.push('Proxy.DestinationServiceName must not be a wildcard for Connect proxy services');
    if (s.Port === 0 && s.SocketPath === '') errs.push('Port or SocketPath must be set for a Connect proxy');
    if (s.Connect.Native === true) errs.push('A Proxy cannot also be Connect Native, only typical services');
  }
  return errs.length > 0 ? multiError(errs) : null;
}

/** ipaddr.IsAny */
export function isAnyAddress(a: string): boolean {
  return a === '0.0.0.0' || a === '::' || a === '[::]';
}

/** Validation done when the agent adds the service (Agent.validateService); plain errors (500). */
export function validateTaggedAddresses(s: LocalService): string | null {
  const ta = s.TaggedAddresses;
  if (!ta) return null;
  for (const key of ['lan_ipv4', 'wan_ipv4']) {
    const sa = ta[key];
    if (sa && isIP(sa.Address) !== 4) return `Service tagged address ${JSON.stringify(key)} must be a valid ipv4 address`;
  }
  for (const key of ['lan_ipv6', 'wan_ipv6']) {
    const sa = ta[key];
    if (sa && isIP(sa.Address) !== 6) return `Service tagged address ${JSON.stringify(key)} must be a valid ipv6 address`;
  }
  return null;
}

/** addServiceInternal: lan/wan ipv4/ipv6 tagged addresses derived from a literal service address. */
export function withDefaultTaggedAddresses(s: LocalService): LocalService {
  const family = isIP(s.Address);
  if (family === 0) return s;
  const ta: Record<string, ServiceAddress> = { ...(s.TaggedAddresses ?? {}) };
  const keys = family === 4 ? ['lan_ipv4', 'wan_ipv4'] : ['lan_ipv6', 'wan_ipv6'];
  for (const k of keys) if (!ta[k]) ta[k] = { Address: s.Address, Port: s.Port };
  return { ...s, TaggedAddresses: sortKeys(ta) };
}

/** A copy of a string-keyed map with its keys in Go's (sorted) order. */
export function sortKeys<T>(m: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k]!;
  return out;
}
