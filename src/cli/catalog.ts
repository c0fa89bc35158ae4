// `tribune catalog datacenters|nodes|services`, as Consul's catalog commands print them.

import { ApiClient, columns, HTTP_FLAGS } from './api-client.js';
import { parseCommandFlags, UsageError } from './flags.js';
import type { Output } from './output.js';

interface Node {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
}

const kvList = (m: Record<string, string> | null): string =>
  Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${m?.[k] ?? ''}`)
    .join(', ');

async function nodes(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...HTTP_FLAGS,
    detailed: { kind: 'bool', help: 'Show tagged addresses and meta.' },
    service: { kind: 'string', help: 'Only nodes providing this service.' },
    'node-meta': { kind: 'list', help: 'Only nodes with this key=value meta (repeatable).' },
    near: { kind: 'string', help: 'Sort by round trip time to this node (accepted; no coordinates yet).' },
  });
  const api = new ApiClient(flags);
  const meta = ((flags['node-meta'] as string[] | undefined) ?? []).map((m) => m.replace('=', ':'));
  let list: Node[];
  if (flags.service) {
    const sn = await api.json<{ ID: string; Node: string; Address: string; Datacenter: string; TaggedAddresses: Record<string, string>; NodeMeta: Record<string, string> }[]>(`/v1/catalog/service/${encodeURIComponent(flags.service as string)}`);
    const seen = new Set<string>();
    list = sn.filter((s) => !seen.has(s.Node) && seen.add(s.Node)).map((s) => ({ ID: s.ID, Node: s.Node, Address: s.Address, Datacenter: s.Datacenter, TaggedAddresses: s.TaggedAddresses, Meta: s.NodeMeta }));
  } else {
    const params = new URLSearchParams();
    for (const m of meta) params.append('node-meta', m);
    list = await api.json<Node[]>(`/v1/catalog/nodes${meta.length ? `?${params.toString()}` : ''}`);
  }
  if (list.length === 0) {
    out.stderr('No nodes match the given query.\n');
    return 0;
  }
  const detailedView = flags.detailed === true;
  const rows = [detailedView ? ['Node', 'ID', 'Address', 'DC', 'TaggedAddresses', 'Meta'] : ['Node', 'ID', 'Address', 'DC']];
  for (const n of list) {
    const row = [n.Node, detailedView ? n.ID : n.ID.slice(0, 8), n.Address, n.Datacenter];
    if (detailedView) row.push(kvList(n.TaggedAddresses), kvList(n.Meta));
    rows.push(row);
  }
  out.stdout(columns(rows));
  return 0;
}

async function services(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...HTTP_FLAGS,
    tags: { kind: 'bool', help: 'Show the tags of each service.' },
    node: { kind: 'string', help: 'Only services on this node.' },
    'node-meta': { kind: 'list', help: 'Only services on nodes with this key=value meta (repeatable).' },
  });
  const api = new ApiClient(flags);
  let byName: Record<string, string[]>;
  if (flags.node) {
    const ns = await api.json<{ Services: { Service: string; Tags: string[] }[] }>(`/v1/catalog/node-services/${encodeURIComponent(flags.node as string)}`);
    byName = {};
    for (const s of ns.Services) byName[s.Service] = [...new Set([...(byName[s.Service] ?? []), ...s.Tags])];
  } else {
    const params = new URLSearchParams();
    for (const m of (flags['node-meta'] as string[] | undefined) ?? []) params.append('node-meta', m.replace('=', ':'));
    byName = await api.json<Record<string, string[]>>(`/v1/catalog/services${params.size ? `?${params.toString()}` : ''}`);
  }
  const names = Object.keys(byName).sort();
  if (names.length === 0) {
    out.stderr('No services match the given query - try expanding your search.\n');
    return 0;
  }
  if (flags.tags === true) out.stdout(columns(names.map((n) => [n, [...(byName[n] ?? [])].sort().join(',')])));
  else out.stdout(names.map((n) => `${n}\n`).join(''));
  return 0;
}

export async function catalogCommand(argv: string[], out: Output): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'datacenters': {
      const { flags, args } = parseCommandFlags(rest, HTTP_FLAGS);
      if (args.length > 0) throw new UsageError('The datacenters command does not accept arguments');
      for (const dc of await new ApiClient(flags).json<string[]>('/v1/catalog/datacenters')) out.stdout(`${dc}\n`);
      return 0;
    }
    case 'nodes':
      return nodes(rest, out);
    case 'services':
      return services(rest, out);
    default:
      out.stderr('Usage: tribune catalog <subcommand> [options]\n\nSubcommands:\n    datacenters    Lists all known datacenters\n    nodes          Lists all nodes in the given datacenter\n    services       Lists all registered services in a datacenter\n');
      return 1;
  }
}
