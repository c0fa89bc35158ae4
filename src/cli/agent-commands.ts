// Commands that talk to the local agent: members, join, force-leave, maint, event.

import { ApiClient, columns, HTTP_FLAGS } from './api-client.js';
import { parseCommandFlags, UsageError } from './flags.js';
import type { Output } from './output.js';

interface Member {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  Status: number;
}

const STATUS = ['none', 'alive', 'leaving', 'left', 'failed'];

export async function membersCommand(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...HTTP_FLAGS,
    detailed: { kind: 'bool', help: 'Show every tag of each member.' },
    status: { kind: 'string', help: 'Only members whose status matches this regular expression.' },
    wan: { kind: 'bool', help: 'List the WAN members.' },
  });
  const api = new ApiClient(flags);
  // A client agent has no WAN pool: its ?wan answer is null.
  const members = (await api.json<Member[] | null>('/v1/agent/members', { wan: flags.wan === true ? 1 : undefined })) ?? [];
  const statusRe = flags.status ? new RegExp(flags.status as string) : null;
  const shown = members.filter((m) => !statusRe || statusRe.test(STATUS[m.Status] ?? 'unknown')).sort((a, b) => (a.Name < b.Name ? -1 : 1));
  if (shown.length === 0) return 2; // Consul exits 2 when nothing matches
  if (flags.detailed === true) {
    const rows = [['Node', 'Address', 'Status', 'Tags']];
    for (const m of shown) {
      const tags = Object.keys(m.Tags)
        .sort()
        .map((k) => `${k}=${m.Tags[k] ?? ''}`)
        .join(',');
      rows.push([m.Name, `${m.Addr}:${m.Port}`, STATUS[m.Status] ?? 'unknown', tags]);
    }
    out.stdout(columns(rows));
    return 0;
  }
  const rows = [['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC', 'Segment']];
  for (const m of shown) {
    const server = m.Tags.role === 'consul';
    rows.push([m.Name, `${m.Addr}:${m.Port}`, STATUS[m.Status] ?? 'unknown', server ? 'server' : 'client', (m.Tags.build ?? '').split(':')[0] ?? '', m.Tags.vsn ?? '', m.Tags.dc ?? '', server ? '<all>' : m.Tags.segment || '<default>']);
  }
  out.stdout(columns(rows));
  return 0;
}

export async function joinCommand(argv: string[], out: Output): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, { ...HTTP_FLAGS, wan: { kind: 'bool', help: 'Join a WAN member.' } });
  if (args.length === 0) throw new UsageError('At least one address to join must be specified.');
  const api = new ApiClient(flags);
  let joined = 0;
  for (const addr of args) {
    const r = await api.call('PUT', `/v1/agent/join/${encodeURIComponent(addr)}`, { wan: flags.wan === true ? 1 : undefined });
    if (r.status === 200) joined++;
    else out.stderr(`Error joining address '${addr}': Unexpected response code: ${r.status} (${r.text})\n`);
  }
  if (joined === 0) {
    out.stderr('Failed to join any nodes.\n');
    return 1;
  }
  out.stdout(`Successfully joined cluster by contacting ${joined} nodes.\n`);
  return 0;
}

export async function forceLeaveCommand(argv: string[], out: Output): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, { ...HTTP_FLAGS, prune: { kind: 'bool', help: 'Remove the node from the member list entirely.' } });
  if (args.length !== 1) throw new UsageError('A single node name must be specified to force leave.');
  const api = new ApiClient(flags);
  const r = await api.call('PUT', `/v1/agent/force-leave/${encodeURIComponent(args[0] ?? '')}`, { prune: flags.prune === true });
  if (r.status !== 200) {
    out.stderr(`Error force leaving: Unexpected response code: ${r.status} (${r.text})\n`);
    return 1;
  }
  return 0;
}

export async function maintCommand(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...HTTP_FLAGS,
    enable: { kind: 'bool', help: 'Enable maintenance mode.' },
    disable: { kind: 'bool', help: 'Disable maintenance mode.' },
    reason: { kind: 'string', help: 'Text describing the maintenance reason.' },
    service: { kind: 'string', help: 'Control maintenance mode for a specific service ID.' },
  });
  if (flags.enable === true && flags.disable === true) throw new UsageError('Only one of -enable or -disable is allowed');
  const api = new ApiClient(flags);
  if (flags.enable !== true && flags.disable !== true) {
    // No flags: list what is in maintenance.
    const checks = await api.json<Record<string, { CheckID: string; ServiceID: string; Notes: string; Node: string }>>('/v1/agent/checks');
    for (const c of Object.values(checks)) {
      if (c.CheckID === '_node_maintenance') out.stdout(`Node:\n  Name:   ${c.Node}\n  Reason: ${c.Notes}\n\n`);
      else if (c.CheckID.startsWith('_service_maintenance:')) out.stdout(`Service:\n  ID:     ${c.ServiceID}\n  Reason: ${c.Notes}\n\n`);
    }
    return 0;
  }
  const enable = flags.enable === true;
  const reason = (flags.reason as string | undefined) ?? '';
  const service = flags.service as string | undefined;
  const path = service ? `/v1/agent/service/maintenance/${encodeURIComponent(service)}` : '/v1/agent/maintenance';
  const r = await api.call('PUT', path, { enable: String(enable), reason: reason || undefined });
  if (r.status === 404 && service) {
    out.stderr(`No service registered with ID "${service}"\n`);
    return 1;
  }
  if (r.status !== 200) {
    out.stderr(`Error: Unexpected response code: ${r.status} (${r.text})\n`);
    return 1;
  }
  const state = enable ? 'enabled' : 'disabled';
  out.stdout(service ? `Service maintenance is now ${state} for "${service}"\n` : `Node maintenance is now ${state}\n`);
  return 0;
}

export async function eventCommand(argv: string[], out: Output): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, {
    ...HTTP_FLAGS,
    name: { kind: 'string', help: 'Name of the event.' },
    node: { kind: 'string', help: 'Regular expression to filter on node names.' },
    service: { kind: 'string', help: 'Regular expression to filter on service names.' },
    tag: { kind: 'string', help: 'Regular expression to filter on service tags (needs -service).' },
  });
  const name = (flags.name as string | undefined) ?? '';
  if (name === '') throw new UsageError('Event name must be specified');
  if (flags.tag && !flags.service) throw new UsageError('Cannot provide tag filter without service filter.');
  if (args.length > 1) throw new UsageError('Too many command line arguments.');
  const api = new ApiClient(flags);
  const r = await api.call('PUT', `/v1/event/fire/${encodeURIComponent(name)}`, { node: flags.node as string | undefined, service: flags.service as string | undefined, tag: flags.tag as string | undefined }, args[0] ?? '');
  if (r.status !== 200) {
    out.stderr(`Error firing event: Unexpected response code: ${r.status} (${r.text})\n`);
    return 1;
  }
  out.stdout(`Event ID: ${(JSON.parse(r.text) as { ID: string }).ID}\n`);
  return 0;
}

export async function leaveCommand(argv: string[], out: Output): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, HTTP_FLAGS);
  if (args.length > 0) throw new UsageError('The leave command does not accept arguments');
  const r = await new ApiClient(flags).call('PUT', '/v1/agent/leave');
  if (r.status !== 200) {
    out.stderr(`Error leaving: Unexpected response code: ${r.status} (${r.text})\n`);
    return 1;
  }
  out.stdout('Graceful leave complete\n');
  return 0;
}

export async function reloadCommand(argv: string[], out: Output): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, HTTP_FLAGS);
  if (args.length > 0) throw new UsageError('The reload command does not accept arguments');
  const r = await new ApiClient(flags).call('PUT', '/v1/agent/reload');
  if (r.status !== 200) {
    out.stderr(`Error reloading: Unexpected response code: ${r.status} (${r.text})\n`);
    return 1;
  }
  out.stdout('Configuration reload triggered\n');
  return 0;
}

/** `tribune info`: the agent's Stats from /v1/agent/self, section by section, as Consul prints them. */
export async function infoCommand(argv: string[], out: Output): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, HTTP_FLAGS);
  if (args.length > 0) throw new UsageError('The info command does not accept arguments');
  const self = await new ApiClient(flags).json<{ Stats?: Record<string, Record<string, string>> }>('/v1/agent/self');
  const stats = self.Stats ?? {};
  for (const section of Object.keys(stats).sort()) {
    out.stdout(`${section}:\n`);
    const kv = stats[section] ?? {};
    for (const k of Object.keys(kv).sort()) out.stdout(`\t${k} = ${kv[k] ?? ''}\n`);
  }
  return 0;
}

/** `tribune monitor [-log-level=info] [-log-json]`: streams the agent's log lines until interrupted. */
export async function monitorCommand(argv: string[], out: Output): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, {
    ...HTTP_FLAGS,
    'log-level': { kind: 'string', help: 'Log level of the agent (trace, debug, info, warn, err).', default: 'INFO' },
    'log-json': { kind: 'bool', help: 'Output logs in JSON format.' },
  });
  if (args.length > 0) throw new UsageError('The monitor command does not accept arguments');
  const query: Record<string, string> = { loglevel: flags['log-level'] as string };
  if (flags['log-json'] === true) query['logjson'] = 'true';
  const res = await new ApiClient(flags).stream('/v1/agent/monitor', query);
  if (res.status !== 200) {
    out.stderr(`Error starting monitor: Unexpected response code: ${res.status} (${(await res.text()).trim()})\n`);
    return 1;
  }
  for await (const chunk of res.body) out.stdout(chunk);
  return 0;
}
