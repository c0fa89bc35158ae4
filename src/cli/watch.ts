// `tribune watch -type=… [handler]`: Consul's watches over blocking queries. Without a handler
// the current data is printed as JSON and the command exits; with one, the handler runs (via
// the shell, the data as JSON on stdin, CONSUL_INDEX in its environment) now and after every
// change, until interrupted.

import { spawn } from 'node:child_process';
import { ApiClient, HTTP_FLAGS, keyPath } from './api-client.js';
import { parseCommandFlags, UsageError } from './flags.js';
import type { Output } from './output.js';

interface KVRaw {
  LockIndex: number;
  Key: string;
  Flags: number | string;
  Value: string | null;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** api.KVPair's field order, which is what Consul's watch prints. */
const kvPair = (p: KVRaw): Record<string, unknown> => ({ Key: p.Key, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex, LockIndex: p.LockIndex, Flags: Number(p.Flags), Value: p.Value, Session: p.Session ?? '' });

interface Plan {
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  /** The watch's data from the raw answer (null answers: 404s). */
  shape: (status: number, body: string) => unknown;
}

function plan(flags: Record<string, unknown>): Plan {
  const type = flags.type as string | undefined;
  const json = (status: number, body: string): unknown => (status === 404 ? null : JSON.parse(body));
  switch (type) {
    case 'key': {
      if (!flags.key) throw new UsageError('Must specify a single key to watch');
      return {
        path: `/v1/kv/${keyPath(flags.key as string)}`,
        query: {},
        shape: (s, b) => {
          const first = (json(s, b) as KVRaw[] | null)?.[0];
          return first ? kvPair(first) : null;
        },
      };
    }
    case 'keyprefix': {
      if (flags.prefix === undefined) throw new UsageError('Must specify a single prefix to watch');
      return { path: `/v1/kv/${keyPath(flags.prefix as string)}`, query: { recurse: true }, shape: (s, b) => ((json(s, b) as KVRaw[] | null) ?? []).map(kvPair) };
    }
    case 'services':
      return { path: '/v1/catalog/services', query: {}, shape: json };
    case 'nodes':
      return { path: '/v1/catalog/nodes', query: {}, shape: json };
    case 'service': {
      if (!flags.service) throw new UsageError('Must specify a single service to watch');
      return { path: `/v1/health/service/${encodeURIComponent(flags.service as string)}`, query: { tag: flags.tag as string | undefined, passing: flags.passing === true }, shape: json };
    }
    case 'checks':
      if (flags.service && flags.state) throw new UsageError('Cannot specify service and state');
      return flags.service ? { path: `/v1/health/checks/${encodeURIComponent(flags.service as string)}`, query: {}, shape: json } : { path: `/v1/health/state/${(flags.state as string | undefined) ?? 'any'}`, query: {}, shape: json };
    case 'event':
      return { path: '/v1/event/list', query: { name: flags.name as string | undefined }, shape: json };
    default:
      throw new UsageError(type ? `Unsupported watch type: ${type}` : 'Watch type must be specified');
  }
}

function runHandler(cmd: string, data: string, index: string, out: Output): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['pipe', 'inherit', 'inherit'], env: { ...process.env, CONSUL_INDEX: index } });
    child.stdin.end(data);
    child.once('error', (e) => {
      out.stderr(`Error executing handler: ${e.message}\n`);
      resolve();
    });
    child.once('exit', (code) => {
      if (code !== 0) out.stderr(`Error executing handler: exit status ${code}\n`);
      resolve();
    });
  });
}

export async function watchCommand(argv: string[], out: Output, _stdin: () => Buffer, signal?: AbortSignal): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, {
    ...HTTP_FLAGS,
    type: { kind: 'string', help: 'Watch type: key, keyprefix, services, nodes, service, checks or event.' },
    key: { kind: 'string', help: 'Key to watch (type key).' },
    prefix: { kind: 'string', help: 'Key prefix to watch (type keyprefix).' },
    service: { kind: 'string', help: 'Service to watch (types service, checks).' },
    tag: { kind: 'string', help: 'Service tag to filter on (type service).' },
    passing: { kind: 'bool', help: 'Only passing instances (type service).' },
    state: { kind: 'string', help: 'Check state to watch (type checks).' },
    name: { kind: 'string', help: 'Event name (type event).' },
  });
  const p = plan(flags);
  const handler = args.join(' ');
  const api = new ApiClient(flags);
  let index = 0;
  let last: string | null = null;
  for (;;) {
    if (signal?.aborted) return 0;
    const r = await api.call('GET', p.path, { ...p.query, index: index > 0 ? index : undefined, wait: index > 0 ? '60s' : undefined });
    if (r.status !== 200 && r.status !== 404) {
      out.stderr(`Error querying Consul agent: Unexpected response code: ${r.status} (${r.text})\n`);
      if (!handler) return 1;
      await new Promise((res) => setTimeout(res, 1000));
      continue;
    }
    const next = Number(r.headers['x-consul-index'] ?? 0);
    if (next < index) index = 0; // the index went backwards: start over, as Consul's watch does
    else index = next;
    const data = `${JSON.stringify(p.shape(r.status, r.text), null, 4)}\n`;
    if (!handler) {
      out.stdout(data);
      return 0;
    }
    if (data !== last) {
      last = data;
      await runHandler(handler, data, String(index), out);
    }
  }
}
