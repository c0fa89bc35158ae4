// Picks the runner for a check definition.

import type { CheckType } from '../definitions.js';
import { isAlias, isHTTP, isMonitor, isTCP, isTTL } from '../definitions.js';
import { type AliasSource, aliasRunner } from './alias.js';
import { httpRunner } from './http.js';
import { scriptRunner } from './script.js';
import { type Report, type Runner, statusHandler } from './status.js';
import { tcpRunner } from './tcp.js';
import { ttlRunner, type TTLRunner } from './ttl.js';

export type { AliasSource, Report, Runner, TTLRunner };

/** Starts the runner for `t`; null when the type has nothing to run here. */
export function startRunner(t: CheckType, report: Report, alias?: AliasSource): Runner | TTLRunner | null {
  if (isTTL(t)) return ttlRunner(t, report);
  if (isAlias(t)) return alias ? aliasRunner(t, report, alias) : null;
  const handled = statusHandler(t, report);
  if (isHTTP(t)) return httpRunner(t, handled);
  if (isTCP(t)) return tcpRunner(t, handled);
  if (isMonitor(t)) return scriptRunner(t, handled);
  return null;
}
