// `tribune operator raft list-peers` and `operator autopilot get-config|set-config|state`, as
// Consul prints them.

import { ApiClient, columns, HTTP_FLAGS } from './api-client.js';
import { parseCommandFlags } from './flags.js';
import type { Output } from './output.js';
import { autopilotCommand } from './operator-autopilot.js';

interface RaftServer {
  ID: string;
  Node: string;
  Address: string;
  Leader: boolean;
  ProtocolVersion: string;
  Voter: boolean;
}

export async function operatorCommand(argv: string[], out: Output): Promise<number> {
  const [area, sub, ...rest] = argv;
  if (area === 'autopilot') return autopilotCommand(sub, rest, out);
  if (area !== 'raft' || sub !== 'list-peers') {
    out.stderr('Usage: tribune operator raft list-peers [options]\n       tribune operator autopilot get-config|set-config|state [options]\n');
    return 1;
  }
  const { flags } = parseCommandFlags(rest, HTTP_FLAGS);
  const conf = await new ApiClient(flags).json<{ Servers: RaftServer[] }>('/v1/operator/raft/configuration');
  const rows = [['Node', 'ID', 'Address', 'State', 'Voter', 'RaftProtocol']];
  for (const s of conf.Servers) rows.push([s.Node, s.ID, s.Address, s.Leader ? 'leader' : 'follower', String(s.Voter), s.ProtocolVersion]);
  out.stdout(columns(rows));
  return 0;
}
