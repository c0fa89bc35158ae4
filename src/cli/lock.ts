// `tribune lock [options] PREFIX CHILD...`: run a command while holding a lock (or one of
// -n semaphore slots) under PREFIX, as `consul lock` does: a session with a TTL renewed while
// the child runs, the lock key PREFIX/.lock acquired with Consul's lock flag value, released
// (and the session destroyed) when the child exits; a lost lock stops the child.

import { spawn } from 'node:child_process';
import { ApiClient, HTTP_FLAGS } from './api-client.js';
import { parseCommandFlags, UsageError } from './flags.js';
import type { Output } from './output.js';
import { parseDuration } from '../util/duration.js';

/** api.LockFlagValue: marks a key as a lock made by the lock helper. */
const LOCK_FLAG = '3304740253564472344';
/** api.SemaphoreFlagValue. */
const SEMAPHORE_FLAG = '16210313421097356768';

interface Pair {
  Key: string;
  Value: string | null;
  Session?: string;
  ModifyIndex: number;
  Flags: number | string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function lockCommand(argv: string[], out: Output): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, {
    ...HTTP_FLAGS,
    n: { kind: 'int', help: 'Number of holders allowed at once (more than 1 makes a semaphore).', default: 1 },
    name: { kind: 'string', help: 'Name of the session.' },
    shell: { kind: 'bool', help: 'Run the child through a shell.', default: true },
    timeout: { kind: 'string', help: 'Maximum time to wait for the lock (0: forever).', default: '0s' },
    'try': { kind: 'string', help: 'Deprecated alias of -timeout.' },
    verbose: { kind: 'bool', help: 'Log what the lock does.' },
    'monitor-retry': { kind: 'int', help: 'Accepted for compatibility.', default: 3 },
  });
  if (args.length < 2) throw new UsageError('Key prefix and child command must be specified');
  const prefix = (args[0] ?? '').replace(/\/$/, '');
  const child = args.slice(1);
  const limit = flags.n as number;
  if (limit < 1) throw new UsageError('Lock holder limit must be positive');
  const timeoutMs = parseDuration((flags.try as string | undefined) ?? (flags.timeout as string)) / 1e6;
  const api = new ApiClient(flags);
  const log = (m: string): void => {
    if (flags.verbose === true) out.stderr(`${m}\n`);
  };

  const created = await api.ok('PUT', '/v1/session/create', {}, JSON.stringify({ Name: (flags.name as string | undefined) ?? `Consul lock for ${child.join(' ')} at ${prefix}`, TTL: '15s' }));
  const session = (JSON.parse(created.text) as { ID: string }).ID;
  const renew = setInterval(() => void api.call('PUT', `/v1/session/renew/${session}`).catch(() => undefined), 7_500);
  const cleanup = async (): Promise<void> => {
    clearInterval(renew);
    await api.call('PUT', `/v1/session/destroy/${session}`).catch(() => undefined);
  };

  // Acquire: one key for a lock; a contender key plus the .lock holder list for a semaphore.
  const lockKey = `${prefix}/.lock`;
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let acquired = false;
  if (limit === 1) {
    let index = 0;
    while (!acquired && Date.now() < deadline) {
      const r = await api.call('PUT', `/v1/kv/${lockKey}`, { acquire: session, flags: LOCK_FLAG });
      if (r.status !== 200) {
        // Not contention but a refusal (the session is gone, say): waiting would not help.
        await cleanup();
        out.stderr(`Lock acquisition failed: Unexpected response code: ${r.status} (${r.text})\n`);
        return 1;
      }
      if (r.text.trim() === 'true') {
        acquired = true;
        break;
      }
      const wait = Math.max(1, Math.min(deadline - Date.now(), 60_000));
      const cur = await api.call('GET', `/v1/kv/${lockKey}`, { index, wait: `${Math.ceil(wait)}ms` });
      index = Number(cur.headers['x-consul-index'] ?? 0);
      if (cur.status === 200 && !(JSON.parse(cur.text) as Pair[])[0]?.Session) await sleep(15); // free: retry now
    }
  } else {
    const contender = await api.call('PUT', `/v1/kv/${prefix}/${session}`, { acquire: session, flags: SEMAPHORE_FLAG });
    if (contender.status !== 200 || contender.text.trim() !== 'true') {
      await cleanup();
      out.stderr(`Lock acquisition failed: Unexpected response code: ${contender.status} (${contender.text})\n`);
      return 1;
    }
    while (!acquired && Date.now() < deadline) {
      const r = await api.call('GET', `/v1/kv/${prefix}`, { recurse: true });
      const pairs = r.status === 200 ? (JSON.parse(r.text) as Pair[]) : [];
      const live = new Set(pairs.filter((p) => p.Key !== lockKey && p.Session).map((p) => p.Session as string));
      const lock = pairs.find((p) => p.Key === lockKey);
      const holders = (lock?.Value ? (JSON.parse(Buffer.from(lock.Value, 'base64').toString()) as { Holders?: Record<string, boolean> }).Holders : undefined) ?? {};
      const current = Object.keys(holders).filter((s) => live.has(s));
      if (current.length < limit) {
        const body = JSON.stringify({ Limit: limit, Holders: Object.fromEntries([...current, session].map((s) => [s, true])) });
        const cas = await api.call('PUT', `/v1/kv/${lockKey}`, { cas: lock?.ModifyIndex ?? 0, flags: SEMAPHORE_FLAG }, body);
        if (cas.text.trim() === 'true') acquired = true;
        continue;
      }
      const idx = Number(r.headers['x-consul-index'] ?? 0);
      await api.call('GET', `/v1/kv/${prefix}`, { recurse: true, index: idx, wait: `${Math.ceil(Math.max(1, Math.min(deadline - Date.now(), 60_000)))}ms` });
    }
  }
  if (!acquired) {
    await cleanup();
    out.stderr('Shutdown triggered or timeout during lock acquisition\n');
    return 1;
  }
  log(`Lock acquisition succeeded on ${prefix}`);

  // Run the child; if the lock is lost (session gone), stop it.
  const proc = flags.shell === true ? spawn('/bin/sh', ['-c', child.join(' ')], { stdio: 'inherit' }) : spawn(child[0] ?? '', child.slice(1), { stdio: 'inherit' });
  let lost = false;
  let exited = false;
  const monitor = (async (): Promise<void> => {
    let index = 0;
    while (!exited) {
      const r = await api.call('GET', `/v1/session/info/${session}`, { index, wait: '5s' }).catch(() => null);
      if (!r || exited) continue;
      index = Number(r.headers['x-consul-index'] ?? 0);
      if (r.status === 200 && (JSON.parse(r.text) as unknown[]).length === 0) {
        lost = true;
        proc.kill('SIGTERM');
        return;
      }
    }
  })();
  const code = await new Promise<number>((resolve) => proc.once('exit', (c) => resolve(c ?? 1)));
  exited = true;
  await Promise.race([monitor, sleep(10)]);
  if (limit === 1) await api.call('PUT', `/v1/kv/${lockKey}`, { release: session });
  await cleanup();
  if (lost) {
    out.stderr('Lock lost, killed child\n');
    return 1;
  }
  log('Cleanup succeeded');
  return code;
}
