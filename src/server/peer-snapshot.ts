// Servers on etcd hand each other their snapshots over the agent channel: a server etcd compacted
// past starts from a peer's newest one. The file goes in pieces (one RPC each, well under the
// channel's message cap), all of one snapshot: one replaced meanwhile makes the fetch start over.

import type { ChannelSecurity } from '../cluster/security.js';
import { RpcClient, RpcError, type RpcServer } from '../cluster/transport.js';
import type { SnapshotPart } from '../log/etcd-log.js';

export const SNAPSHOT_RPC = 'etcd-snapshot';

export interface SnapshotPartRequest {
  /** null: the newest snapshot; then the revision the first part named. */
  revision: number | null;
  offset: number;
}

/** Answers peers' snapshot requests from `read` (the server's etcd log). */
export function registerSnapshotRpc(rpc: RpcServer, read: (req: SnapshotPartRequest) => Promise<SnapshotPart | null>): void {
  rpc.on(SNAPSHOT_RPC, async (body) => {
    const b = (body ?? {}) as Partial<SnapshotPartRequest>;
    const revision = typeof b.revision === 'number' ? b.revision : null;
    const offset = typeof b.offset === 'number' && b.offset >= 0 ? b.offset : 0;
    try {
      return await read({ revision, offset });
    } catch (e) {
      throw new RpcError(`snapshot: ${(e as Error).message}`, 404);
    }
  });
}

/** The newest snapshot file of the server at `address` (null: it has none). */
export async function fetchPeerSnapshot(security: ChannelSecurity, address: string): Promise<Buffer | null> {
  const client = new RpcClient(address, security, true);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const first = await client.call<SnapshotPart | null>(SNAPSHOT_RPC, { revision: null, offset: 0 } satisfies SnapshotPartRequest);
      if (!first) return null;
      const parts = [Buffer.from(first.data)];
      let got = parts[0]!.length;
      try {
        while (got < first.size) {
          const p = await client.call<SnapshotPart | null>(SNAPSHOT_RPC, { revision: first.revision, offset: got } satisfies SnapshotPartRequest);
          if (!p || p.data.length === 0) throw new Error('snapshot ended early');
          const data = Buffer.from(p.data);
          parts.push(data);
          got += data.length;
        }
      } catch (e) {
        // Replaced by a newer one while we read: again, from the newest.
        if (e instanceof RpcError && e.status === 404) continue;
        throw e;
      }
      return Buffer.concat(parts);
    }
    throw new Error(`the snapshots of ${address} kept changing while being read`);
  } finally {
    client.close();
  }
}
