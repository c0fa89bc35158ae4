// Shared pieces of the check runners: the status handler that applies SuccessBeforePassing /
// FailuresBeforeCritical (Consul's StatusHandler), output truncation and the first-run stagger.

import type { CheckType } from '../definitions.js';
import { type LongTimeout, setLongTimeout } from '../../util/timers.js';

export type Report = (status: string, output: string) => void;

export interface Runner {
  stop(): void;
}

/** checks.DefaultBufSize. */
export const DEFAULT_OUTPUT_MAX = 4096;

export function outputLimit(t: CheckType): number {
  return t.OutputMaxSize > 0 ? t.OutputMaxSize : DEFAULT_OUTPUT_MAX;
}

/** Keeps the first `max` bytes of output and says how much there was, as Consul does. */
export function truncate(output: string | Buffer, max: number, total?: number): string {
  const buf = typeof output === 'string' ? Buffer.from(output, 'utf8') : output;
  // `total`: how much there was when only the start of it was kept (a streaming reader).
  const size = total ?? buf.length;
  if (size <= max) return typeof output === 'string' ? output : buf.toString('utf8');
  return `${buf.subarray(0, max).toString('utf8')} ... (captured ${max} of ${size} bytes)`;
}

/**
 * Consul's StatusHandler: after a failure, a check must succeed (passing or warning)
 * SuccessBeforePassing times in a row before that is reported; after a success it must fail
 * FailuresBeforeCritical times in a row. Results short of the threshold change nothing, not
 * even the output. The counters start at their thresholds, so the first result always counts.
 */
export function statusHandler(t: CheckType, report: Report): Report {
  const successBefore = Math.max(0, t.SuccessBeforePassing);
  const failuresBefore = Math.max(0, t.FailuresBeforeCritical);
  let successes = successBefore;
  let failures = failuresBefore;
  return (status, output) => {
    if (status === 'passing' || status === 'warning') {
      successes++;
      failures = 0;
      if (successes >= successBefore) report(status, output);
    } else {
      failures++;
      successes = 0;
      if (failures >= failuresBefore) report(status, output);
    }
  };
}

/** Runs `probe` every interval, the first time after a random stagger within the interval. */
export function periodic(intervalMs: number, probe: () => Promise<void>): Runner {
  let stopped = false;
  let timer: LongTimeout | null = null;
  const tick = (): void => {
    if (stopped) return;
    void probe()
      .catch(() => undefined)
      .finally(() => {
        if (!stopped) timer = setLongTimeout(tick, intervalMs);
      });
  };
  // Consul staggers the first run so that many checks do not fire together.
  timer = setTimeout(tick, Math.floor(Math.random() * Math.min(intervalMs, 1000)));
  return {
    stop(): void {
      stopped = true;
      timer?.close();
    },
  };
}
