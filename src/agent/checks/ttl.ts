// TTL checks (Consul's CheckTTL): critical when no status arrives within the TTL.

import type { CheckType } from '../definitions.js';
import { type LongTimeout, setLongTimeout } from '../../util/timers.js';
import { outputLimit, type Report, truncate } from './status.js';

export interface TTLRunner {
  stop(): void;
  update(status: string, output: string): string;
}

export function ttlRunner(t: CheckType, report: Report): TTLRunner {
  const ttlMs = t.TTL / 1e6;
  let lastOutput = '';
  let timer: LongTimeout | null = null;
  let stopped = false;
  const expired = (): void => {
    timer = null;
    if (stopped) return;
    const output = lastOutput === '' ? 'TTL expired' : `TTL expired (last output before timeout follows): ${lastOutput}`;
    report('critical', output);
  };
  const arm = (): void => {
    timer?.close();
    timer = setLongTimeout(expired, ttlMs);
  };
  arm();
  return {
    stop(): void {
      stopped = true;
      timer?.close();
    },
    update(status: string, output: string): string {
      const kept = truncate(output, outputLimit(t));
      lastOutput = kept;
      report(status, kept);
      if (!stopped) arm();
      return kept;
    },
  };
}
