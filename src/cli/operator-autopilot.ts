// `tribune operator autopilot get-config|set-config|state` with Consul's flags and output
// (command/operator/autopilot). set-config is a check-and-set over the configuration it read.

import { formatDuration, parseDuration } from '../util/duration.js';
import { ApiClient, ApiError, HTTP_FLAGS } from './api-client.js';
import { type FlagDef, parseCommandFlags, UsageError } from './flags.js';
import type { Output } from './output.js';

interface Config {
  CleanupDeadServers: boolean;
  LastContactThreshold: string;
  MaxTrailingLogs: number;
  MinQuorum: number;
  ServerStabilizationTime: string;
  RedundancyZoneTag: string;
  DisableUpgradeMigration: boolean;
  UpgradeVersionTag: string;
  ModifyIndex: number;
}

const SET_FLAGS: Record<string, FlagDef> = {
  ...HTTP_FLAGS,
  'cleanup-dead-servers': { kind: 'bool', help: 'Controls whether Consul will automatically remove dead servers when new ones are successfully added.' },
  'max-trailing-logs': { kind: 'int', help: 'Controls the maximum number of log entries that a server can trail the leader by before being considered unhealthy.' },
  'min-quorum': { kind: 'int', help: 'Sets the minimum number of servers required in a cluster before autopilot can prune dead servers.' },
  'last-contact-threshold': { kind: 'string', help: 'Controls the maximum amount of time a server can go without contact from the leader before being considered unhealthy.' },
  'server-stabilization-time': { kind: 'string', help: 'Controls the minimum amount of time a server must be stable in the \'healthy\' state before being added to the cluster.' },
  'redundancy-zone-tag': { kind: 'string', help: 'Controls the node-meta key name used for separating servers into different redundancy zones.' },
  'disable-upgrade-migration': { kind: 'bool', help: 'Controls whether Consul will avoid promoting new servers until it can perform a migration.' },
  'upgrade-version-tag': { kind: 'string', help: 'Controls the node-meta key name used for version info when performing upgrade migrations.' },
};

const STATE_FLAGS: Record<string, FlagDef> = { ...HTTP_FLAGS, format: { kind: 'string', help: 'Output format {pretty|json}', default: 'pretty' } };

const q = (s: string): string => JSON.stringify(s);

async function getConfig(api: ApiClient, what: string): Promise<Config> {
  try {
    return await api.json<Config>('/v1/operator/autopilot/configuration');
  } catch (e) {
    throw new ApiError(e instanceof ApiError ? e.status : 0, `Error ${what} Autopilot configuration: ${(e as Error).message}`);
  }
}

function durationFlag(v: unknown, name: string): string | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    return formatDuration(parseDuration(v));
  } catch (e) {
    throw new UsageError(`invalid value ${q(v)} for flag -${name}: ${(e as Error).message}`);
  }
}

export async function autopilotCommand(sub: string | undefined, argv: string[], out: Output): Promise<number> {
  if (sub === 'get-config') {
    const { flags } = parseCommandFlags(argv, HTTP_FLAGS);
    const c = await getConfig(new ApiClient(flags), 'querying');
    out.stdout(
      [
        `CleanupDeadServers = ${String(c.CleanupDeadServers)}`,
        `LastContactThreshold = ${c.LastContactThreshold}`,
        `MaxTrailingLogs = ${c.MaxTrailingLogs}`,
        `MinQuorum = ${c.MinQuorum}`,
        `ServerStabilizationTime = ${c.ServerStabilizationTime}`,
        `RedundancyZoneTag = ${q(c.RedundancyZoneTag)}`,
        `DisableUpgradeMigration = ${String(c.DisableUpgradeMigration)}`,
        `UpgradeVersionTag = ${q(c.UpgradeVersionTag)}`,
      ].join('\n') + '\n',
    );
    return 0;
  }
  if (sub === 'set-config') {
    const { flags } = parseCommandFlags(argv, SET_FLAGS);
    const api = new ApiClient(flags);
    const c = await getConfig(api, 'querying');
    const next: Config = { ...c };
    if (typeof flags['cleanup-dead-servers'] === 'boolean') next.CleanupDeadServers = flags['cleanup-dead-servers'];
    if (typeof flags['disable-upgrade-migration'] === 'boolean') next.DisableUpgradeMigration = flags['disable-upgrade-migration'];
    if (typeof flags['max-trailing-logs'] === 'number') next.MaxTrailingLogs = flags['max-trailing-logs'];
    if (typeof flags['min-quorum'] === 'number') next.MinQuorum = flags['min-quorum'];
    next.LastContactThreshold = durationFlag(flags['last-contact-threshold'], 'last-contact-threshold') ?? next.LastContactThreshold;
    next.ServerStabilizationTime = durationFlag(flags['server-stabilization-time'], 'server-stabilization-time') ?? next.ServerStabilizationTime;
    if (typeof flags['redundancy-zone-tag'] === 'string') next.RedundancyZoneTag = flags['redundancy-zone-tag'];
    if (typeof flags['upgrade-version-tag'] === 'string') next.UpgradeVersionTag = flags['upgrade-version-tag'];
    let r;
    try {
      r = await api.ok('PUT', '/v1/operator/autopilot/configuration', { cas: c.ModifyIndex }, JSON.stringify(next));
    } catch (e) {
      throw new ApiError(e instanceof ApiError ? e.status : 0, `Error updating Autopilot configuration: ${(e as Error).message}`);
    }
    if (r.text.trim() === 'true') {
      out.stdout('Configuration updated!\n');
      return 0;
    }
    out.stdout('Configuration could not be atomically updated, please try again\n');
    return 1;
  }
  if (sub === 'state') {
    const { flags } = parseCommandFlags(argv, STATE_FLAGS);
    const format = (flags.format as string | undefined) ?? 'pretty';
    if (format !== 'pretty' && format !== 'json') throw new UsageError(`Invalid format "${format}". Must be one of: pretty, json`);
    let st: { Healthy: boolean; FailureTolerance: number; OptimisticFailureTolerance: number; Leader: string; Voters: string[]; Servers: Record<string, Record<string, unknown>> };
    try {
      st = await new ApiClient(flags).json('/v1/operator/autopilot/state');
    } catch (e) {
      throw new ApiError(e instanceof ApiError ? e.status : 0, `Error querying Autopilot state: ${(e as Error).message}`);
    }
    if (format === 'json') {
      out.stdout(JSON.stringify(st, null, 3) + '\n');
      return 0;
    }
    const lines = [`Healthy:                      ${String(st.Healthy)}`, `Failure Tolerance:            ${st.FailureTolerance}`, `Optimistic Failure Tolerance: ${st.OptimisticFailureTolerance}`, `Leader:                       ${st.Leader}`, 'Voters:', ...st.Voters.map((v) => `   ${v}`), '', 'Servers:'];
    for (const [id, s] of Object.entries(st.Servers)) {
      lines.push(`   ${id}`);
      const row = (k: string, v: unknown): void => void lines.push(`      ${(k + ':').padEnd(17)}${String(v)}`);
      row('Name', s['Name']);
      row('Address', s['Address']);
      row('Version', s['Version']);
      row('Status', s['Status']);
      row('Node Type', s['NodeType']);
      row('Node Status', s['NodeStatus']);
      row('Healthy', s['Healthy']);
      row('Last Contact', s['LastContact']);
      row('Last Term', s['LastTerm']);
      row('Last Index', s['LastIndex']);
      lines.push('');
    }
    out.stdout(lines.join('\n') + '\n');
    return 0;
  }
  out.stderr('Usage: tribune operator autopilot get-config|set-config|state [options]\n');
  return 1;
}
