// TCP checks (Consul's CheckTCP): passing when a connection opens within the timeout.

import net from 'node:net';
import type { CheckType } from '../definitions.js';
import { setLongTimeout } from '../../util/timers.js';
import { periodic, type Report, type Runner } from './status.js';

const DEFAULT_TIMEOUT_MS = 10_000;

export function tcpProbe(target: string, timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  const i = target.lastIndexOf(':');
  const host = target.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(target.slice(i + 1));
  return new Promise((resolve) => {
    if (i < 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
      resolve({ ok: false, output: `dial tcp ${target}: address ${target}: missing port in address` });
      return;
    }
    const sock = net.connect({ host, port });
    const done = (ok: boolean, output: string): void => {
      timer.close();
      sock.destroy();
      resolve({ ok, output });
    };
    // Not sock.setTimeout: it turns delays past 2^31-1 ms into 1 ms.
    const timer = setLongTimeout(() => done(false, `dial tcp ${target}: i/o timeout`), timeoutMs);
    sock.once('connect', () => done(true, `TCP connect ${target}: Success`));
    sock.once('error', (e: NodeJS.ErrnoException) => done(false, `dial tcp ${target}: connect: ${goErrnoText(e)}`));
  });
}

/** Go's wording for the usual connect errors. */
function goErrnoText(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'EHOSTUNREACH':
      return 'no route to host';
    case 'ENETUNREACH':
      return 'network is unreachable';
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return e.message;
  }
}

export function tcpRunner(t: CheckType, report: Report): Runner {
  const timeoutMs = t.Timeout > 0 ? t.Timeout / 1e6 : DEFAULT_TIMEOUT_MS;
  return periodic(t.Interval / 1e6, async () => {
    const r = await tcpProbe(t.TCP, timeoutMs);
    report(r.ok ? 'passing' : 'critical', r.output);
  });
}
