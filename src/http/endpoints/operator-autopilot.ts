// /v1/operator/autopilot/*: the configuration (stored through the log, check-and-set writes) and
// the health and state of the servers, as Consul 1.10 answers them for a datacenter of this one
// server: always the healthy leader and only voter, tolerating no failure.

import type { AutopilotConfig, AutopilotConfigInput } from '../../state/autopilot.js';
import { formatDuration, parseDuration } from '../../util/duration.js';
import { jsonKind, unmarshalTypeError } from '../../util/json.js';
import { CONSUL_VERSION } from '../../agent/version.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import { operatorRead, operatorWrite } from '../acl.js';
import type { Ctx } from '../context.js';
import { field, isObject, type Obj } from '../decode.js';
import { badRequest, serverError } from '../errors.js';
import { leaderMeta } from '../meta.js';
import { checkDatacenter, parseQueryOptions } from '../query-options.js';
import { json, type Reply } from '../reply.js';

const MAX_BODY = 64 * 1024;
const PARSE_ERROR = 'Error parsing autopilot config';

/** api.AutopilotConfiguration: durations as Go duration text. */
export function autopilotJSON(c: AutopilotConfig): Record<string, unknown> {
  return {
    CleanupDeadServers: c.CleanupDeadServers,
    LastContactThreshold: formatDuration(c.LastContactThreshold),
    MaxTrailingLogs: c.MaxTrailingLogs,
    MinQuorum: c.MinQuorum,
    ServerStabilizationTime: formatDuration(c.ServerStabilizationTime),
    RedundancyZoneTag: c.RedundancyZoneTag,
    DisableUpgradeMigration: c.DisableUpgradeMigration,
    UpgradeVersionTag: c.UpgradeVersionTag,
    CreateIndex: c.CreateIndex,
    ModifyIndex: c.ModifyIndex,
  };
}

function getConfig(ctx: Ctx, { server, config }: ApiDeps): Reply {
  parseQueryOptions(ctx, config.datacenter);
  const c = server.store.autopilot.get();
  if (!c) throw serverError('autopilot config not initialized yet');
  return json(autopilotJSON(c), leaderMeta(server));
}

const fail = (msg: string): never => {
  throw badRequest(`${PARSE_ERROR}: ${msg}`);
};

/** Decodes api.AutopilotConfiguration as Go does: absent fields are zero, names case-insensitive. */
function decodeConfig(body: unknown): AutopilotConfigInput {
  if (body !== undefined && body !== null && !isObject(body)) fail(`json: cannot unmarshal ${jsonKind(body)} into Go value of type api.AutopilotConfiguration`);
  const o: Obj = isObject(body) ? body : {};
  const at = (name: string): string => `AutopilotConfiguration.${name}`;
  const bool = (name: string): boolean => {
    const v = field(o, name);
    if (v === undefined || v === null) return false;
    return typeof v === 'boolean' ? v : fail(unmarshalTypeError(v, at(name), 'bool'));
  };
  const str = (name: string): string => {
    const v = field(o, name);
    if (v === undefined || v === null) return '';
    return typeof v === 'string' ? v : fail(unmarshalTypeError(v, at(name), 'string'));
  };
  const uint = (name: string, goType: string): number => {
    const v = field(o, name);
    if (v === undefined || v === null) return 0;
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail(unmarshalTypeError(v, at(name), goType));
  };
  // api.ReadableDuration: "200ms" or a number of nanoseconds.
  const dur = (name: string): number => {
    const v = field(o, name);
    if (v === undefined || v === null) return 0;
    if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : fail(unmarshalTypeError(v, at(name), 'api.ReadableDuration'));
    if (typeof v !== 'string') return fail(unmarshalTypeError(v, at(name), 'api.ReadableDuration'));
    try {
      return parseDuration(v);
    } catch (e) {
      return fail((e as Error).message);
    }
  };
  return {
    CleanupDeadServers: bool('CleanupDeadServers'),
    LastContactThreshold: dur('LastContactThreshold'),
    MaxTrailingLogs: uint('MaxTrailingLogs', 'uint64'),
    MinQuorum: uint('MinQuorum', 'uint'),
    ServerStabilizationTime: dur('ServerStabilizationTime'),
    RedundancyZoneTag: str('RedundancyZoneTag'),
    DisableUpgradeMigration: bool('DisableUpgradeMigration'),
    UpgradeVersionTag: str('UpgradeVersionTag'),
  };
}

async function setConfig(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply> {
  checkDatacenter(ctx, config.datacenter);
  const input = decodeConfig(await ctx.jsonBody(MAX_BODY, PARSE_ERROR));
  let cas: number | undefined;
  if (ctx.has('cas')) {
    const raw = ctx.get('cas') ?? '';
    if (!/^\d+$/.test(raw) || BigInt(raw) > 0xffffffffffffffffn) throw badRequest(`Error parsing cas value: strconv.ParseUint: parsing ${JSON.stringify(raw)}: ${/^\d+$/.test(raw) ? 'value out of range' : 'invalid syntax'}`);
    cas = Number(raw);
  }
  const { result } = await server.propose({ type: 'autopilot-set', config: input, ...(cas !== undefined ? { cas } : {}) });
  // Only a check-and-set reports whether it happened.
  return json(cas === undefined ? true : result);
}

interface ServerFacts {
  ID: string;
  Name: string;
  Address: string;
  Version: string;
  LastContact: string;
  LastTerm: number;
  LastIndex: number;
  Healthy: boolean;
  StableSince: string;
}

/** time.Time of StableSince, rounded to the second and in UTC as Consul shows it. */
const stableSince = (d: Date): string => new Date(Math.round(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** The one server, as autopilot sees it: the leader, heard from just now. */
function selfServer({ server, config, agent }: ApiDeps): ServerFacts {
  return {
    ID: agent?.nodeID ?? '',
    Name: config.nodeName,
    Address: server.leaderAddress,
    Version: CONSUL_VERSION,
    LastContact: '0s',
    // No elections with one server: the first and only term.
    LastTerm: 1,
    LastIndex: server.store.index,
    Healthy: true,
    StableSince: stableSince(server.stableSince),
  };
}

function health(ctx: Ctx, deps: ApiDeps): Reply {
  parseQueryOptions(ctx, deps.config.datacenter);
  const s = selfServer(deps);
  const srv = { ID: s.ID, Name: s.Name, Address: s.Address, SerfStatus: 'alive', Version: s.Version, Leader: true, LastContact: s.LastContact, LastTerm: s.LastTerm, LastIndex: s.LastIndex, Healthy: s.Healthy, Voter: true, StableSince: s.StableSince };
  return json({ Healthy: true, FailureTolerance: 0, Servers: [srv] }, leaderMeta(deps.server));
}

function state(ctx: Ctx, deps: ApiDeps): Reply {
  parseQueryOptions(ctx, deps.config.datacenter);
  const s = selfServer(deps);
  const meta = deps.server.store.catalog.node(deps.config.nodeName)?.Meta ?? {};
  const srv = { ID: s.ID, Name: s.Name, Address: s.Address, NodeStatus: 'alive', Version: s.Version, LastContact: s.LastContact, LastTerm: s.LastTerm, LastIndex: s.LastIndex, Healthy: s.Healthy, StableSince: s.StableSince, ReadReplica: false, Status: 'leader', Meta: meta, NodeType: 'voter' };
  return json({ Healthy: true, FailureTolerance: 0, OptimisticFailureTolerance: 0, Servers: { [s.ID]: srv }, Leader: s.ID, Voters: [s.ID] }, leaderMeta(deps.server));
}

export const autopilotEndpoints: EndpointGroup = (router, deps) => {
  router.on('/v1/operator/autopilot/configuration', {
    GET: { acl: operatorRead, handler: (ctx) => getConfig(ctx, deps) },
    PUT: { acl: operatorWrite, handler: (ctx) => setConfig(ctx, deps) },
  });
  router.on('/v1/operator/autopilot/health', { GET: { acl: operatorRead, handler: (ctx) => health(ctx, deps) } });
  router.on('/v1/operator/autopilot/state', { GET: { acl: operatorRead, handler: (ctx) => state(ctx, deps) } });
};
