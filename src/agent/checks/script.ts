// Script checks (Consul's CheckMonitor): run Args; exit 0 passing, 1 warning, else critical.
// The process group is killed at the timeout. Enabled only by enable_script_checks or
// enable_local_script_checks — the agent refuses to register them otherwise.

import { spawn } from 'node:child_process';
import type { CheckType } from '../definitions.js';
import { formatDuration } from '../../util/duration.js';
import { setLongTimeout } from '../../util/timers.js';
import { outputLimit, periodic, type Report, type Runner, truncate } from './status.js';

const DEFAULT_TIMEOUT_MS = 30_000;

export function runScript(args: string[], timeoutMs: number, max: number): Promise<{ status: string; output: string }> {
  return new Promise((resolve) => {
    const [cmd, ...rest] = args;
    const child = spawn(cmd ?? '', rest, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const chunks: Buffer[] = [];
    let size = 0;
    const collect = (d: Buffer): void => {
      size += d.length;
      // Keep a little past the limit so truncation can say how much there was.
      if (size - d.length <= max) chunks.push(d);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setLongTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    const output = (): string => truncate(Buffer.concat(chunks), max, size);
    child.once('error', (e) => {
      timer.close();
      resolve({ status: 'critical', output: e.message });
    });
    child.once('close', (code) => {
      timer.close();
      if (timedOut) {
        const out = output();
        resolve({ status: 'critical', output: `Timed out (${formatDuration(timeoutMs * 1e6)}) running check${out ? `\n\n${out}` : ''}` });
        return;
      }
      resolve({ status: code === 0 ? 'passing' : code === 1 ? 'warning' : 'critical', output: output() });
    });
  });
}

export function scriptRunner(t: CheckType, report: Report): Runner {
  const timeoutMs = t.Timeout > 0 ? t.Timeout / 1e6 : DEFAULT_TIMEOUT_MS;
  const args = t.ScriptArgs ?? [];
  return periodic(t.Interval / 1e6, async () => {
    const r = await runScript(args, timeoutMs, outputLimit(t));
    report(r.status, r.output);
  });
}
