// /v1/agent/*: the local agent's services, checks, maintenance, membership and self, as Consul
// 1.10 answers them (agent/agent_endpoint.go). Writes change the agent's local state and then wait
// for the sync into the catalog, so the catalog shows them when the request returns.

import { createHash } from 'node:crypto';
import { agentSelf, localMember } from '../../agent/self.js';
import { sidecarFor } from '../../agent/sidecar.js';
import { hclogJSON, parseLogLevel } from '../../util/log.js';
import { goBool } from '../../util/strconv.js';
import { AgentError, checkFromDefinition, type LocalAgent, NODE_MAINT_CHECK_ID, SERVICE_MAINT_PREFIX, truncateOutput, CHECK_OUTPUT_MAX } from '../../agent/local-agent.js';
import {
  type CheckType,
  DecodeError,
  type LocalService,
  decodeCheckDefinition,
  decodeServiceDefinition,
  definitionToService,
  isAnyAddress,
  serviceCheckTypes,
  validStatus,
  validateCheckType,
  validateNodeService,
  validateServiceMeta,
  validateWeights,
} from '../../agent/definitions.js';
import { filterList, agentServiceSchema, healthCheckSchema } from '../../filter/index.js';
import { parseFilter } from '../filter.js';
import type { LocalCheck } from '../../agent/local-state.js';
import type { AgentDeps, EndpointGroup } from '../api.js';
import { originCoordinate } from '../../util/coordinate.js';
import { waitBudgetMs } from '../blocking.js';
import type { Authorizer } from '../../acl/types.js';
import { TOKEN_PATHS } from '../../agent/tokens.js';
import { aclWrite, agentRead, agentWrite, demand, nodeWrite, operatorWrite, serviceRead, visible } from '../acl.js';
import type { Ctx } from '../context.js';
import { HttpError, badRequest, notFound, serverError } from '../errors.js';
import { parseWait } from '../query-options.js';
import { empty, headerSafe, json, jsonText, text, type Reply } from '../reply.js';

const MAX_BODY = 1 << 20;
/** Unsent monitor output held for one client before lines are dropped. */
const MONITOR_BUFFER_BYTES = 256 * 1024;

function localAgent(deps: AgentDeps): LocalAgent {
  if (!deps.agent) throw serverError('agent: local state is not available');
  return deps.agent;
}

/** The rest of the path after `prefix`, decoded (Consul's strings.TrimPrefix(req.URL.Path, …)). */
function rest(ctx: Ctx, prefix: string): string {
  return ctx.path.startsWith(prefix) ? ctx.path.slice(prefix.length) : '';
}

/** Errors of agent operations: Consul's status when it has one, else 500 with the reason. */
function agentError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof AgentError) return new HttpError(e.status, e.message);
  return serverError(e instanceof Error ? e.message : String(e));
}

// ------------------------------------------------------------------ JSON shapes

/** api.AgentService, as buildAgentService fills it. */
export function agentServiceJSON(s: LocalService, dc: string, contentHash?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.Kind) out.Kind = s.Kind;
  out.ID = s.ID;
  out.Service = s.Service;
  out.Tags = s.Tags ?? [];
  out.Meta = s.Meta ?? {};
  out.Port = s.Port;
  out.Address = s.Address;
  out.SocketPath = s.SocketPath ?? '';
  if (s.TaggedAddresses && Object.keys(s.TaggedAddresses).length > 0) out.TaggedAddresses = s.TaggedAddresses;
  out.Weights = { Passing: s.Weights.Passing > 0 ? s.Weights.Passing : 1, Warning: s.Weights.Warning };
  out.EnableTagOverride = s.EnableTagOverride;
  if (contentHash !== undefined) out.ContentHash = contentHash;
  if (s.Kind === 'connect-proxy' || s.Kind.endsWith('-gateway')) out.Proxy = s.Proxy;
  if (s.Connect.Native === true) out.Connect = { Native: true };
  out.Datacenter = dc;
  return out;
}

/** The hash-based blocking hash of a service: 16 hex digits over its API shape. */
export function contentHash(agentService: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(agentService)).digest('hex').slice(0, 16);
}

/** structs.HealthCheck as /v1/agent/checks lists it. */
function checkJSON(c: LocalCheck): Record<string, unknown> {
  return { ...c, ServiceTags: c.ServiceTags ?? [], Definition: c.Definition ?? {}, CreateIndex: 0, ModifyIndex: 0 };
}

/** api.HealthCheck as the local health endpoints build it (only the state fields are filled). */
function apiHealthCheckJSON(c: LocalCheck): Record<string, unknown> {
  return {
    Node: c.Node,
    CheckID: c.CheckID,
    Name: c.Name,
    Status: c.Status,
    Notes: c.Notes,
    Output: c.Output,
    ServiceID: c.ServiceID,
    ServiceName: c.ServiceName,
    ServiceTags: c.ServiceTags ?? [],
    Type: '',
    Definition: {
      Interval: '0s',
      Timeout: '0s',
      DeregisterCriticalServiceAfter: '0s',
      HTTP: '',
      Header: null,
      Method: '',
      Body: '',
      TLSServerName: '',
      TLSSkipVerify: false,
      TCP: '',
    },
    CreateIndex: 0,
    ModifyIndex: 0,
  };
}

/** api.HealthChecks.AggregatedStatus */
function aggregatedStatus(checks: LocalCheck[]): string {
  let passing = false;
  let warning = false;
  let critical = false;
  let maintenance = false;
  for (const c of checks) {
    if (c.CheckID === NODE_MAINT_CHECK_ID || c.CheckID.startsWith(SERVICE_MAINT_PREFIX)) {
      maintenance = true;
      continue;
    }
    if (c.Status === 'passing') passing = true;
    else if (c.Status === 'warning') warning = true;
    else if (c.Status === 'critical') critical = true;
    else return '';
  }
  if (maintenance) return 'maintenance';
  if (critical) return 'critical';
  if (warning) return 'warning';
  void passing;
  return 'passing';
}

/** agentHealthService: the HTTP code and status for one service instance. */
function serviceHealth(agent: LocalAgent, serviceID: string): { code: number; status: string; checks: LocalCheck[] } {
  const checks = agent.state.checksForService(serviceID, true);
  const status = aggregatedStatus(checks);
  const code = status === 'warning' ? 429 : status === 'passing' ? 200 : 503;
  return { code, status, checks };
}

function wantsText(ctx: Ctx): boolean {
  const accept = ctx.req.headers.accept;
  if (typeof accept === 'string' && accept.startsWith('text/plain')) return true;
  const format = ctx.get('format');
  if (format) return format === 'text';
  return false;
}

/** A reply with a status code and X-Consul-Reason, as Consul's CodeWithPayloadError. */
function payloadReply(ctx: Ctx, code: number, reason: string, jsonValue: unknown): Reply {
  const headers = { 'X-Consul-Reason': headerSafe(reason) };
  if (wantsText(ctx)) return text(reason, 'text/plain', headers, code);
  return json(jsonValue, headers, code);
}

/** A map keyed by ID, in Go's (sorted) key order. */
function sortedMap<T>(entries: [string, T][]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) out[k] = v;
  return out;
}

// ------------------------------------------------------------------ reads

function services(ctx: Ctx, deps: AgentDeps): Reply {
  const agent = localAgent(deps);
  const dc = deps.config.datacenter;
  const filter = parseFilter(ctx, agentServiceSchema);
  const list = filterList(
    visible(ctx, agent.state.allServices(), (a, s) => a.serviceRead(s.Service)).map((s) => agentServiceJSON(s, dc)),
    filter,
  );
  return jsonText(JSON.stringify(sortedMap(list.map((s) => [s.ID as string, s]))));
}

function checks(ctx: Ctx, deps: AgentDeps): Reply {
  const agent = localAgent(deps);
  const node = deps.config.nodeName;
  const mine = visible(ctx, agent.state.allChecks(), (a, c) => mayReadLocalCheck(a, node, c));
  const list = filterList(mine.map(checkJSON), parseFilter(ctx, healthCheckSchema));
  return jsonText(JSON.stringify(sortedMap(list.map((c) => [c.CheckID as string, c]))));
}

const SERVICE_PREFIX = '/v1/agent/service/';

/** GET /v1/agent/service/:id, with hash-based blocking (?hash, ?wait). */
async function service(ctx: Ctx, deps: AgentDeps): Promise<Reply | null> {
  const agent = localAgent(deps);
  const id = rest(ctx, SERVICE_PREFIX);
  const { waitMs } = parseWait(ctx);
  const hash = ctx.get('hash') ?? '';
  const dc = deps.config.datacenter;
  const read = (): { hash: string; body: Record<string, unknown> } => {
    const svc = agent.state.service(id);
    if (!svc) throw notFound(`unknown service ID: ${id}`);
    demand(ctx, (a) => a.serviceRead(svc.Service));
    const body = agentServiceJSON(svc, dc);
    const h = contentHash(body);
    return { hash: h, body: agentServiceJSON(svc, dc, h) };
  };
  let out = read();
  if (hash !== '' && out.hash === hash) {
    const deadline = Date.now() + waitBudgetMs(waitMs);
    const signal = ctx.signal;
    while (out.hash === hash) {
      const left = deadline - Date.now();
      if (left <= 0 || agent.released) break;
      const changed = await new Promise<boolean>((resolve) => {
        let unwatch = (): void => undefined;
        const done = (v: boolean): void => {
          clearTimeout(timer);
          unwatch();
          signal.removeEventListener('abort', onAbort);
          offRelease();
          resolve(v);
        };
        const onAbort = (): void => done(false);
        const timer = setTimeout(() => done(false), left);
        unwatch = agent.state.watchService(id, () => done(true));
        const offRelease = agent.onRelease(() => done(false));
        signal.addEventListener('abort', onAbort, { once: true });
      });
      if (signal.aborted) return null;
      if (!changed) break;
      ctx.recheck?.();
      out = read();
    }
  }
  return json(out.body, { 'X-Consul-ContentHash': out.hash });
}

function healthByID(ctx: Ctx, deps: AgentDeps): Reply {
  const agent = localAgent(deps);
  const id = rest(ctx, '/v1/agent/health/service/id/');
  if (id === '') throw badRequest('Missing serviceID');
  const svc = agent.state.service(id);
  if (svc) {
    demand(ctx, (a) => a.serviceRead(svc.Service));
    const { code, status, checks } = serviceHealth(agent, id);
    return payloadReply(ctx, code, status, {
      AggregatedStatus: status,
      Service: agentServiceJSON(svc, deps.config.datacenter),
      Checks: checks.map(apiHealthCheckJSON),
    });
  }
  const reason = `ServiceId ${id} not found`;
  return payloadReply(ctx, 404, reason, { AggregatedStatus: 'critical', Service: null, Checks: null });
}

function healthByName(ctx: Ctx, deps: AgentDeps): Reply {
  const agent = localAgent(deps);
  const name = rest(ctx, '/v1/agent/health/service/name/');
  if (name === '') throw badRequest('Missing service Name');
  let code = 404;
  let status = `ServiceName ${name} Not Found`;
  const result: unknown[] = [];
  for (const svc of agent.state.allServices().filter((s) => s.Service === name)) {
    const h = serviceHealth(agent, svc.ID);
    result.push({ AggregatedStatus: h.status, Service: agentServiceJSON(svc, deps.config.datacenter), Checks: h.checks.map(apiHealthCheckJSON) });
    // The worst status wins: passing 200 < warning 429 < critical 503.
    if (code === 404 || code < h.code) {
      code = h.code;
      status = h.status;
    }
  }
  return payloadReply(ctx, code, status, result);
}

function self(deps: AgentDeps): Reply {
  const agent = localAgent(deps);
  const cluster = deps.cluster;
  return json(agentSelf(deps.config, agent, { leader: cluster?.isLeader() ?? false, leaderAddr: cluster?.leaderAddress() ?? '', knownServers: cluster?.knownServers() ?? 0, coord: cluster?.coordinate() ?? originCoordinate(), knownDatacenters: cluster?.datacenters?.().length ?? 1 }));
}

async function members(ctx: Ctx, deps: AgentDeps): Promise<Reply> {
  const agent = localAgent(deps);
  const wan = (ctx.get('wan') ?? '') !== '';
  const segment = ctx.get('segment') ?? '';
  if (wan) {
    if (segment !== '' && segment !== '_all') throw badRequest('Cannot provide a segment with wan=true');
    if (!deps.config.server) return jsonText('null');
    const wanMembers = deps.cluster?.wanMembers?.() ?? [localMember(deps.config, agent.nodeID, true)];
    // WAN names are node.dc: the token's node read is of the node.
    const nodeOf = (m: { Name: string; Tags: Record<string, string> }): string => (m.Tags.dc && m.Name.endsWith(`.${m.Tags.dc}`) ? m.Name.slice(0, -m.Tags.dc.length - 1) : m.Name);
    return json(visible(ctx, wanMembers, (a, m) => a.nodeRead(nodeOf(m))));
  }
  if (segment !== '' && segment !== '_all') return json([]);
  const all = deps.cluster ? await deps.cluster.members().catch((e: unknown) => {
    throw serverError((e as Error).message);
  }) : [localMember(deps.config, agent.nodeID)];
  // As filterMembers: only the nodes the token may read.
  return json(visible(ctx, all, (a, m) => a.nodeRead(m.Name)));
}

// ------------------------------------------------------------------ writes

/** Decodes a JSON body with one of the definition decoders; 400 `Request decode failed: …`. */
async function decodeBody<T>(ctx: Ctx, decode: (raw: unknown) => T): Promise<T> {
  const raw = await ctx.jsonBody(MAX_BODY);
  try {
    return decode(raw);
  } catch (e) {
    if (e instanceof DecodeError) throw badRequest(`Request decode failed: ${e.message}`);
    throw e;
  }
}

async function registerService(ctx: Ctx, deps: AgentDeps): Promise<Reply> {
  const agent = localAgent(deps);
  const def = await decodeBody(ctx, decodeServiceDefinition);
  if (def.Name === '') throw badRequest('Missing service name');
  if (isAnyAddress(def.Address)) throw badRequest('Invalid service address');
  const ns = definitionToService(def);
  if (def.Weights) {
    const err = validateWeights(def.Weights);
    if (err) throw badRequest(`Invalid Weights: ${err}`);
  }
  const metaErr = validateServiceMeta(ns.Meta);
  if (metaErr) throw badRequest(`Invalid Service Meta: ${metaErr}`);
  const nsErr = validateNodeService(ns);
  if (nsErr) throw badRequest(`Validation failed: ${nsErr}`);
  let chkTypes: CheckType[];
  try {
    chkTypes = serviceCheckTypes(def);
  } catch (e) {
    throw badRequest(`Invalid check: ${(e as Error).message}`);
  }
  for (const c of chkTypes) {
    if (c.Status !== '' && !validStatus(c.Status)) throw badRequest("Status for checks must 'passing', 'warning', 'critical'");
  }
  // A sidecar is worked out (and refused) before anything is registered.
  let sidecar: ReturnType<typeof sidecarFor> | null = null;
  const sidecarRaw = def.Connect?.SidecarService;
  if (sidecarRaw !== undefined && sidecarRaw !== null) {
    try {
      sidecar = sidecarFor(ns, sidecarRaw, agent.state.allServices());
    } catch (e) {
      throw badRequest(`Invalid SidecarService: ${(e as Error).message}`);
    }
  }
  vetServiceRegister(ctx, agent, ns);
  if (sidecar) vetServiceRegister(ctx, agent, sidecar.svc);
  const replace = ctx.has('replace-existing-checks') && ['', 'true'].includes(ctx.get('replace-existing-checks') ?? '');
  const opts = { persist: true, token: def.Token || ctx.token, source: 'remote' as const, replaceExistingChecks: replace };
  try {
    agent.addService(ns, chkTypes, opts);
    if (sidecar) agent.addService(sidecar.svc, sidecar.chkTypes, opts);
  } catch (e) {
    throw agentError(e);
  }
  await agent.syncChanges();
  return empty();
}

/** filterChecksWithAuthorizer: a node check needs node read, a service check service read. */
function mayReadLocalCheck(a: Authorizer, node: string, c: LocalCheck): boolean {
  return c.ServiceID === '' ? a.nodeRead(node) : a.serviceRead(c.ServiceName);
}

/** Writing a local check: service write for a service check, node write on this node otherwise. */
function mayWriteLocalCheck(a: Authorizer, node: string, serviceID: string, serviceName: string): boolean {
  return serviceID === '' ? a.nodeWrite(node) : a.serviceWrite(serviceName);
}

/** vetServiceRegister: write on the service, on the one it replaces, and on a proxy's destination. */
function vetServiceRegister(ctx: Ctx, agent: LocalAgent, ns: { ID: string; Service: string; Kind: string; Proxy: Record<string, unknown> }): void {
  demand(ctx, (a) => {
    if (!a.serviceWrite(ns.Service)) return false;
    const old = agent.state.service(ns.ID);
    if (old && !a.serviceWrite(old.Service)) return false;
    const dest = ns.Kind === 'connect-proxy' ? ns.Proxy['DestinationServiceName'] : undefined;
    return typeof dest !== 'string' || dest === '' || a.serviceWrite(dest);
  });
}

/** vetServiceUpdate: with ACLs on, unknown IDs are refused (Consul 1.10); a known one needs service write. */
function vetServiceUpdate(ctx: Ctx, deps: AgentDeps, agent: LocalAgent, id: string): void {
  if (!deps.config.acl.enabled) return;
  const svc = agent.state.service(id);
  if (!svc) throw serverError(`Unknown service ${JSON.stringify(id)}`);
  demand(ctx, (a) => a.serviceWrite(svc.Service));
}

/** vetCheckUpdate: as vetServiceUpdate, with the check's service (or this node) as the resource. */
function vetCheckUpdate(ctx: Ctx, deps: AgentDeps, agent: LocalAgent, id: string): void {
  if (!deps.config.acl.enabled) return;
  const c = agent.state.check(id);
  if (!c) throw serverError(`Unknown check ${JSON.stringify(id)}`);
  demand(ctx, (a) => mayWriteLocalCheck(a, deps.config.nodeName, c.ServiceID, c.ServiceName));
}

async function deregisterService(ctx: Ctx, deps: AgentDeps): Promise<Reply> {
  const agent = localAgent(deps);
  const id = rest(ctx, '/v1/agent/service/deregister/');
  vetServiceUpdate(ctx, deps, agent, id);
  try {
    agent.removeService(id, true);
  } catch (e) {
    throw agentError(e);
  }
  await agent.syncChanges();
  return empty();
}

function enableParam(ctx: Ctx): boolean {
  if (!ctx.has('enable')) throw badRequest('Missing value for enable');
  const raw = ctx.get('enable') ?? '';
  const v = goBool(raw);
  if (v === null) throw badRequest(`Invalid value for enable: ${JSON.stringify(raw)}`);
  return v;
}

async function serviceMaintenance(ctx: Ctx, deps: AgentDeps): Promise<Reply> {
  const agent = localAgent(deps);
  const id = rest(ctx, '/v1/agent/service/maintenance/');
  if (id === '') throw badRequest('Missing service ID');
  const enable = enableParam(ctx);
  vetServiceUpdate(ctx, deps, agent, id);
  try {
    if (enable) agent.enableServiceMaintenance(id, ctx.get('reason') ?? '', ctx.token);
    else agent.disableServiceMaintenance(id);
  } catch (e) {
    throw agentError(e);
  }
  await agent.syncChanges();
  return empty();
}

async function nodeMaintenance(ctx: Ctx, deps: AgentDeps): Promise<Reply> {
  const agent = localAgent(deps);
  const enable = enableParam(ctx);
  try {
    if (enable) agent.enableNodeMaintenance(ctx.get('reason') ?? '', ctx.token);
    else agent.disableNodeMaintenance();
  } catch (e) {
    throw agentError(e);
  }
  await agent.syncChanges();
  return empty();
}

async function registerCheck(ctx: Ctx, deps: AgentDeps): Promise<Reply> {
  const agent = localAgent(deps);
  const def = await decodeBody(ctx, decodeCheckDefinition);
  if (def.Name === '') throw badRequest('Missing check name');
  if (def.Status !== '' && !validStatus(def.Status)) throw badRequest('Bad check status');
  const { check, chkType } = checkFromDefinition(def, deps.config.nodeName);
  const err = validateCheckType(chkType);
  if (err) throw badRequest(`Invalid check: ${err}`);
  // vetCheckRegister: the new check's resource, and the one of a check it replaces.
  const node = deps.config.nodeName;
  const svcName = check.ServiceID === '' ? '' : (agent.state.service(check.ServiceID)?.Service ?? check.ServiceName);
  demand(ctx, (a) => mayWriteLocalCheck(a, node, check.ServiceID, svcName));
  const old = agent.state.check(check.CheckID);
  if (old) demand(ctx, (a) => mayWriteLocalCheck(a, node, old.ServiceID, old.ServiceName));
  try {
    agent.addCheck(check, chkType, true, def.Token || ctx.token, 'remote');
  } catch (e) {
    throw agentError(e);
  }
  await agent.syncChanges();
  return empty();
}

async function deregisterCheck(ctx: Ctx, deps: AgentDeps): Promise<Reply> {
  const agent = localAgent(deps);
  const id = rest(ctx, '/v1/agent/check/deregister/');
  vetCheckUpdate(ctx, deps, agent, id);
  try {
    agent.removeCheck(id, true);
  } catch (e) {
    throw agentError(e);
  }
  await agent.syncChanges();
  return empty();
}

async function ttlUpdate(ctx: Ctx, deps: AgentDeps, id: string, status: string, output: string): Promise<Reply> {
  const agent = localAgent(deps);
  vetCheckUpdate(ctx, deps, agent, id);
  try {
    agent.updateTTLCheck(id, status, output);
  } catch (e) {
    throw agentError(e);
  }
  await agent.syncChanges();
  return empty();
}

/** checkUpdate {Status, Output}, decoded as Go does (case-insensitive keys). */
function decodeCheckUpdate(raw: unknown): { Status: string; Output: string } {
  if (raw === undefined) throw new DecodeError('EOF');
  const out = { Status: '', Output: '' };
  if (raw === null) return out;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DecodeError(`json: cannot unmarshal ${Array.isArray(raw) ? 'array' : typeof raw === 'boolean' ? 'bool' : typeof raw} into Go value of type agent.checkUpdate`);
  }
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const lk = k.toLowerCase();
    if (lk !== 'status' && lk !== 'output') continue;
    if (v === null) continue;
    const field = lk === 'status' ? 'Status' : 'Output';
    if (typeof v !== 'string') {
      const kind = Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : `number ${JSON.stringify(v)}`;
      throw new DecodeError(`json: cannot unmarshal ${kind} into Go struct field checkUpdate.${field} of type string`);
    }
    out[field] = v;
  }
  return out;
}

async function checkUpdate(ctx: Ctx, deps: AgentDeps): Promise<Reply> {
  const update = await decodeBody(ctx, decodeCheckUpdate);
  if (!validStatus(update.Status)) throw badRequest(`Invalid check status: '${update.Status}'`);
  const id = rest(ctx, '/v1/agent/check/update/');
  return ttlUpdate(ctx, deps, id, update.Status, truncateOutput(update.Output, CHECK_OUTPUT_MAX));
}

async function join(ctx: Ctx, deps: AgentDeps): Promise<Reply> {
  localAgent(deps);
  const wan = (ctx.get('wan') ?? '') !== '';
  const addr = rest(ctx, '/v1/agent/join/');
  if (wan && !deps.config.server) throw serverError('Must be a server to join WAN cluster');
  if (!deps.cluster) throw serverError('this agent has no cluster to join');
  await deps.cluster.join([addr], wan).catch((e: unknown) => {
    throw serverError((e as Error).message);
  });
  return empty();
}

async function leaveForce(ctx: Ctx, deps: AgentDeps): Promise<Reply> {
  localAgent(deps);
  const node = rest(ctx, '/v1/agent/force-leave/');
  const c = deps.config;
  if (ctx.has('wan')) {
    if (!c.server) throw serverError('Must be a server to force-leave a node from the WAN cluster');
    const cluster = deps.cluster;
    if (cluster?.forceLeaveWan) {
      try {
        cluster.forceLeaveWan(node, ctx.has('prune'));
      } catch (e) {
        throw serverError((e as Error).message);
      }
      return empty();
    }
    // No WAN pool: it holds only this server, which is not failed: nothing to remove.
    if (node !== c.nodeName && node !== `${c.nodeName}.${c.datacenter}`) throw serverError(`agent: No node found with name '${node}'`);
    return empty();
  }
  if (!deps.cluster) throw serverError(`agent: No node found with name '${node}'`);
  // As Consul: ?prune counts by its presence.
  await deps.cluster.forceLeave(node, ctx.has('prune')).catch((e: unknown) => {
    throw serverError((e as Error).message);
  });
  return empty();
}

/** PUT /v1/agent/leave: answer, then leave and shut down (as Consul's AgentLeave). */
function leave(ctx: Ctx, deps: AgentDeps): Reply {
  localAgent(deps);
  const go = deps.leave;
  if (go) ctx.res.once('finish', () => setImmediate(go));
  return empty();
}

/** PUT /v1/agent/reload: errors (a bad file) answer 500 with the reason, as Consul's. */
async function reload(deps: AgentDeps): Promise<Reply> {
  localAgent(deps);
  if (!deps.reload) throw serverError('reload is not available for this agent');
  try {
    await deps.reload();
  } catch (e) {
    throw agentError(e);
  }
  return empty();
}

/**
 * GET /v1/agent/monitor?loglevel=: the agent's log lines as they happen, at that level or above
 * (whatever the agent's own log level), until the client goes or the agent stops.
 */
async function monitor(ctx: Ctx, deps: AgentDeps): Promise<Reply | null> {
  localAgent(deps);
  const asked = ctx.get('loglevel') ?? 'INFO';
  const level = parseLogLevel(asked);
  if (!level) throw badRequest(`Unknown log level: ${asked}`);
  // Consul turns JSON on by the parameter's presence, whatever its value.
  const json = ctx.get('logjson') !== null;
  const res = ctx.res;
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.flushHeaders();
  // A client that reads slower than the agent logs gets gaps, not an ever-growing buffer: past
  // MONITOR_BUFFER_BYTES unsent, lines are dropped (Consul drops past 512 queued lines) and the
  // stream says how many once it drains.
  let dropped = 0;
  let total = 0;
  const off = deps.logger.tap(level, (line, entry) => {
    if (res.writableLength > MONITOR_BUFFER_BYTES) {
      dropped++;
      return;
    }
    if (dropped > 0) {
      const msg = `Monitor dropped ${dropped} logs during monitor request: the client reads too slowly`;
      res.write(json ? hclogJSON({ time: new Date(), level: 'WARN', name: 'agent', msg }) : `${new Date().toISOString()} [WARN]  agent: ${msg}\n`);
      total += dropped;
      dropped = 0;
    }
    res.write(json ? hclogJSON(entry) : line);
  });
  await new Promise<void>((resolve) => {
    if (deps.closing?.aborted) return resolve();
    res.once('close', () => resolve());
    deps.closing?.addEventListener('abort', () => resolve(), { once: true });
  });
  off();
  total += dropped;
  if (total > 0) deps.logger.warn('Dropped logs during monitor request', { dropped_count: total });
  if (!res.writableEnded) res.end();
  return null;
}

/** GET /v1/agent/metrics: Consul's JSON, or Prometheus' text with ?format=prometheus. */
function metrics(ctx: Ctx, deps: AgentDeps): Reply {
  localAgent(deps);
  if (!deps.metrics) throw serverError('metrics are not available');
  const gauges = deps.gauges?.() ?? [];
  if (ctx.get('format') === 'prometheus') return text(deps.metrics.prometheus(gauges), 'text/plain; version=0.0.4; charset=utf-8');
  return json(deps.metrics.json(gauges));
}

/** PUT /v1/agent/token/<name>: replaces one of the agent's tokens at once (Consul's AgentToken). */
async function setToken(ctx: Ctx, deps: AgentDeps): Promise<Reply> {
  const agent = localAgent(deps);
  const tokens = deps.tokens;
  if (!tokens) throw serverError('this agent keeps no ACL tokens');
  const target = rest(ctx, '/v1/agent/token/');
  const body = await ctx.jsonBody(MAX_BODY);
  const raw = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)['Token'] : undefined;
  if (raw !== undefined && raw !== null && typeof raw !== 'string') throw badRequest('Request decode failed: json: cannot unmarshal into Go struct field AgentToken.Token of type string');
  const name = TOKEN_PATHS[target];
  if (!name) throw notFound(`Token "${target}" is unknown`);
  tokens.set(name, raw ?? '');
  // The secret itself is never logged.
  deps.logger.named('agent').info('Updated agent\'s ACL token', { token: target });
  // Anti-entropy writes with these: what they refused so far is retried at once (as Consul).
  if (name === 'agent' || name === 'default') void agent.syncFull();
  return empty();
}

export const agentEndpoints: EndpointGroup<AgentDeps> = (router, deps) => {
  const node = deps.config.nodeName;
  const ttl = (status: string, prefix: string) => (ctx: Ctx) => ttlUpdate(ctx, deps, rest(ctx, prefix), status, ctx.get('note') ?? '');
  // Consul's agent rules: agent read/write on this node; service and check writes are vetted
  // against the stored entries (vetServiceUpdate / vetCheckUpdate) or the body (vet*Register).
  router.on('/v1/agent/metrics', { GET: { acl: agentRead(node), handler: (ctx) => metrics(ctx, deps) } });
  router.on('/v1/agent/monitor', { GET: { acl: agentRead(node), handler: (ctx) => monitor(ctx, deps) } });
  router.on('/v1/agent/leave', { PUT: { acl: agentWrite(node), handler: (ctx) => leave(ctx, deps) } });
  router.on('/v1/agent/reload', { PUT: { acl: agentWrite(node), handler: () => reload(deps) } });
  router.on('/v1/agent/self', { GET: { acl: agentRead(node), handler: () => self(deps) } });
  router.on('/v1/agent/members', { GET: { acl: 'filtered', handler: (ctx) => members(ctx, deps) } });
  router.on('/v1/agent/join/*', { PUT: { acl: agentWrite(node), handler: (ctx) => join(ctx, deps) } });
  router.on('/v1/agent/force-leave/*', { PUT: { acl: operatorWrite, handler: (ctx) => leaveForce(ctx, deps) } });
  router.on('/v1/agent/token/*', { PUT: { acl: aclWrite, handler: (ctx) => setToken(ctx, deps) } });
  router.on('/v1/agent/services', { GET: { acl: 'filtered', handler: (ctx) => services(ctx, deps) } });
  router.on('/v1/agent/service/*', { GET: { acl: 'in-handler', handler: (ctx) => service(ctx, deps) } });
  router.on('/v1/agent/service/register', { PUT: { acl: 'in-handler', handler: (ctx) => registerService(ctx, deps) } });
  router.on('/v1/agent/service/deregister/*', { PUT: { acl: 'in-handler', handler: (ctx) => deregisterService(ctx, deps) } });
  router.on('/v1/agent/service/maintenance/*', { PUT: { acl: 'in-handler', handler: (ctx) => serviceMaintenance(ctx, deps) } });
  router.on('/v1/agent/maintenance', { PUT: { acl: nodeWrite(node), handler: (ctx) => nodeMaintenance(ctx, deps) } });
  router.on('/v1/agent/checks', { GET: { acl: 'filtered', handler: (ctx) => checks(ctx, deps) } });
  router.on('/v1/agent/check/register', { PUT: { acl: 'in-handler', handler: (ctx) => registerCheck(ctx, deps) } });
  router.on('/v1/agent/check/deregister/*', { PUT: { acl: 'in-handler', handler: (ctx) => deregisterCheck(ctx, deps) } });
  router.on('/v1/agent/check/pass/*', { PUT: { acl: 'in-handler', handler: ttl('passing', '/v1/agent/check/pass/') } });
  router.on('/v1/agent/check/warn/*', { PUT: { acl: 'in-handler', handler: ttl('warning', '/v1/agent/check/warn/') } });
  router.on('/v1/agent/check/fail/*', { PUT: { acl: 'in-handler', handler: ttl('critical', '/v1/agent/check/fail/') } });
  router.on('/v1/agent/check/update/*', { PUT: { acl: 'in-handler', handler: (ctx) => checkUpdate(ctx, deps) } });
  router.on('/v1/agent/health/service/id/*', { GET: { acl: 'in-handler', handler: (ctx) => healthByID(ctx, deps) } });
  router.on('/v1/agent/health/service/name/*', { GET: { acl: serviceRead((ctx) => rest(ctx, '/v1/agent/health/service/name/')), handler: (ctx) => healthByName(ctx, deps) } });
};
