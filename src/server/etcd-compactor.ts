// The leader's compaction of etcd (servers on etcd): the log's history is kept back to the oldest
// snapshot a live server has recorded (snapshots/<node>, the revision it resumes after), so every
// running server can restart from its own snapshot; a server that was down meanwhile, or has no
// snapshot, catches up from a peer's (etcd-log.ts). Etcd's revisions are one history for the
// whole etcd cluster: compaction reaches every prefix on it.

import { type EtcdHandle, withDeadline } from '../log/etcd-client.js';
import type { Logger } from '../util/log.js';

export interface CompactorOptions {
  etcd: EtcdHandle;
  /** The names of the servers registered now (their lease alive). */
  servers: () => string[];
  /** How often the leader looks (default 5 minutes). */
  intervalMs?: number;
  logger: Logger;
}

export class EtcdCompactor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  /** The revision last compacted at (by this leader). */
  compacted = 0;

  constructor(private readonly opts: CompactorOptions) {}

  start(): void {
    this.stop();
    this.timer = setInterval(() => {
      this.running ??= this.runOnce()
        .catch((e: Error) => this.opts.logger.warn('etcd compaction failed', { error: e.message }))
        .finally(() => {
          this.running = null;
        });
    }, this.opts.intervalMs ?? 300_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Compacts behind the oldest snapshot of a live server; the revision, or null when nothing to do. */
  async runOnce(): Promise<number | null> {
    const { ns, client, requestTimeoutMs } = this.opts.etcd;
    const records = await withDeadline(ns.getAll().prefix('snapshots/').strings(), requestTimeoutMs, 'snapshot records');
    const byName = new Map<string, number>();
    for (const [k, v] of Object.entries(records)) byName.set(k.replace(/^.*snapshots\//, ''), Number(v));
    const revs = this.opts.servers().map((n) => byName.get(n)).filter((r): r is number => r !== undefined && Number.isFinite(r) && r > 0);
    if (revs.length === 0) return null;
    const at = Math.min(...revs);
    if (at <= this.compacted) return null;
    try {
      await withDeadline(client.kv.compact({ revision: at }), requestTimeoutMs, 'compaction');
    } catch (e) {
      // Someone (an earlier leader, etcd's own auto-compaction) already compacted further.
      if (!/compacted/i.test((e as Error).message)) throw e;
    }
    this.compacted = at;
    this.opts.logger.info('compacted etcd behind the oldest server snapshot', { revision: at });
    return at;
  }
}
