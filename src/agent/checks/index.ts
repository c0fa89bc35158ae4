// Picks the runner for a check definition.

import type { CheckType } from '../definitions.js';
import { isHTTP, isMonitor, isTCP, isTTL } from '../definitions.js';
import { httpRunner } from './http.js';
import { scriptRunner } from './script.js';
import { type Report, type Runner, statusHandler } from './status.js';
import { tcpRunner } from './tcp.js';
import { ttlRunner, type TTLRunner } from './ttl.js';

export type { Report, Runner, TTLRunner };

/** Starts the runner for `t`; null when the type has nothing to run here. */
export function startRunner(t: CheckType, report: Report): Runner | TTLRunner | null {
  if (isTTL(t)) return ttlRunner(t, report);
  const handled = statusHandler(t, report);
  if (isHTTP(t)) return httpRunner(t, handled);
  if (isTCP(t)) return tcpRunner(t, handled);
  if (isMonitor(t)) return scriptRunner(t, handled);
  return null;
}
