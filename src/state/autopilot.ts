// The autopilot configuration (Consul's "autopilot-config" table): one record, written through
// the log. The leader stores Consul's defaults when none exists; writes may be check-and-set.

import type { ChangeSet, WatchSet } from './watch.js';

/** autopilot.Config; durations in nanoseconds. */
export interface AutopilotConfig {
  CleanupDeadServers: boolean;
  LastContactThreshold: number;
  MaxTrailingLogs: number;
  MinQuorum: number;
  ServerStabilizationTime: number;
  RedundancyZoneTag: string;
  DisableUpgradeMigration: boolean;
  UpgradeVersionTag: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export type AutopilotConfigInput = Omit<AutopilotConfig, 'CreateIndex' | 'ModifyIndex'>;

/** Consul's defaults (agent/config/default.go, autopilot stanza). */
export const DEFAULT_AUTOPILOT: AutopilotConfigInput = {
  CleanupDeadServers: true,
  LastContactThreshold: 200e6,
  MaxTrailingLogs: 250,
  MinQuorum: 0,
  ServerStabilizationTime: 10e9,
  RedundancyZoneTag: '',
  DisableUpgradeMigration: false,
  UpgradeVersionTag: '',
};

export const AUTOPILOT_TOPIC = 'autopilot-config';

export class AutopilotTable {
  constructor(
    public config: AutopilotConfig | null = null,
    public index = 0,
  ) {}

  get(ws?: WatchSet): AutopilotConfig | null {
    ws?.topic(AUTOPILOT_TOPIC);
    return this.config;
  }

  /**
   * Stores `input`. With `cas` the write happens only if the stored ModifyIndex equals it (0: only
   * if none is stored), as AutopilotCASConfig; `ifMissing` is the leader's initialisation.
   */
  set(idx: number, ch: ChangeSet, input: AutopilotConfigInput, opts: { cas?: number; ifMissing?: boolean }): boolean {
    const cur = this.config;
    if (opts.ifMissing && cur) return false;
    if (opts.cas !== undefined) {
      if (opts.cas === 0 && cur) return false;
      if (opts.cas !== 0 && (!cur || cur.ModifyIndex !== opts.cas)) return false;
    }
    this.config = { ...input, CreateIndex: cur?.CreateIndex ?? idx, ModifyIndex: idx };
    this.index = idx;
    ch.topics.add(AUTOPILOT_TOPIC);
    return true;
  }
}
