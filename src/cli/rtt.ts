// `tribune rtt [-wan] node1 [node2]`: the round trip estimate between two nodes' coordinates, with
// Consul's texts (command/rtt). The second node defaults to the agent's own.

import { computeDistance, intersect, type NetCoordinate } from '../util/coordinate.js';
import { ApiClient, HTTP_FLAGS } from './api-client.js';
import { parseCommandFlags } from './flags.js';
import type { Output } from './output.js';

interface Entry {
  Node: string;
  Segment: string;
  Coord: NetCoordinate;
}

const FLAGS = { ...HTTP_FLAGS, wan: { kind: 'bool' as const, help: 'Use WAN coordinates instead of LAN coordinates.' } };

const USAGE = `Usage: tribune rtt [options] node1 [node2]

  Estimates the round trip time between two nodes using the network
  coordinate model of the cluster. If the second node name isn't given,
  it is set to the agent's node name. With -wan, node names are
  <node name>.<datacenter>.
`;

const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

async function self(api: ApiClient): Promise<{ NodeName: string; Datacenter: string }> {
  const s = await api.json<{ Config: { NodeName: string; Datacenter: string } }>('/v1/agent/self');
  return s.Config;
}

export async function rttCommand(argv: string[], out: Output): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, FLAGS);
  const nodes = [...args];
  if (nodes.length < 1 || nodes.length > 2) {
    out.stderr(`One or two node names must be specified\n\n${USAGE}`);
    return 1;
  }
  const api = new ApiClient(flags);
  const wan = flags.wan === true;
  const fail = (msg: string): number => {
    out.stderr(`${msg}\n`);
    return 1;
  };
  let c1: NetCoordinate | undefined;
  let c2: NetCoordinate | undefined;
  if (nodes.length < 2) {
    try {
      const me = await self(api);
      nodes.push(wan ? `${me.NodeName}.${me.Datacenter}` : me.NodeName);
    } catch (e) {
      return fail(`Unable to look up agent info: ${(e as Error).message}`);
    }
  }
  const [n1, n2] = nodes as [string, string];
  if (wan) {
    const p1 = n1.split('.');
    const p2 = n2.split('.');
    if (p1.length !== 2 || p2.length !== 2) return fail('Node names must be specified as <node name>.<datacenter> with -wan');
    let dcs: { Datacenter: string; AreaID: string; Coordinates: Entry[] }[];
    try {
      dcs = await api.json('/v1/coordinate/datacenters');
    } catch (e) {
      return fail(`Error getting coordinates: ${(e as Error).message}`);
    }
    // Only coordinates of the same area compare.
    let a1: string | undefined;
    let a2: string | undefined;
    found: for (const dc of dcs) {
      for (const e of dc.Coordinates) {
        if (dc.Datacenter === p1[1] && sameName(e.Node, p1[0]!)) [a1, c1] = [dc.AreaID, e.Coord];
        if (dc.Datacenter === p2[1] && sameName(e.Node, p2[0]!)) [a2, c2] = [dc.AreaID, e.Coord];
        if (a1 === a2 && c1 && c2) break found;
      }
    }
    if (!(a1 === a2 && c1 && c2)) [c1, c2] = [undefined, undefined];
  } else {
    let entries: Entry[];
    try {
      entries = await api.json('/v1/coordinate/nodes');
    } catch (e) {
      return fail(`Error getting coordinates: ${(e as Error).message}`);
    }
    const s1 = new Map<string, NetCoordinate>();
    const s2 = new Map<string, NetCoordinate>();
    for (const e of entries) {
      if (sameName(e.Node, n1)) s1.set(e.Segment, e.Coord);
      if (sameName(e.Node, n2)) s2.set(e.Segment, e.Coord);
    }
    [c1, c2] = intersect(s1, s2);
  }
  if (!c1) return fail(`Could not find a coordinate for node ${JSON.stringify(n1)}`);
  if (!c2) return fail(`Could not find a coordinate for node ${JSON.stringify(n2)}`);
  const ms = (computeDistance(c1, c2) * 1000).toFixed(3);
  out.stdout(`Estimated ${n1} <-> ${n2} rtt: ${ms} ms (using ${wan ? 'WAN' : 'LAN'} coordinates)\n`);
  return 0;
}
