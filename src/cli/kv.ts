// `tribune kv get|put|delete|export|import`, with Consul's flags, output and exit codes.

import fs from 'node:fs';
import { ApiClient, ApiError, HTTP_FLAGS, keyPath } from './api-client.js';
import { type FlagDef, parseCommandFlags, UsageError } from './flags.js';
import type { Output } from './output.js';

interface Pair {
  Key: string;
  Flags: number | string;
  Value: string | null;
  LockIndex: number;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

const GET_FLAGS: Record<string, FlagDef> = {
  ...HTTP_FLAGS,
  base64: { kind: 'bool', help: 'Base64-encode the value.' },
  detailed: { kind: 'bool', help: 'Show all metadata of the entry.' },
  keys: { kind: 'bool', help: 'List keys under the prefix, up to -separator.' },
  recurse: { kind: 'bool', help: 'Get every key under the prefix.' },
  separator: { kind: 'string', help: 'Separator for -keys (default "/").' },
};

const PUT_FLAGS: Record<string, FlagDef> = {
  ...HTTP_FLAGS,
  acquire: { kind: 'bool', help: 'Obtain a lock on the key (needs -session).' },
  base64: { kind: 'bool', help: 'The data is base64-encoded.' },
  cas: { kind: 'bool', help: 'Check-and-set: write only if -modify-index matches.' },
  flags: { kind: 'string', help: 'Unsigned integer flags to store with the key.' },
  'modify-index': { kind: 'int', help: 'ModifyIndex for -cas (0: only if the key does not exist).' },
  release: { kind: 'bool', help: 'Release the lock held by -session.' },
  session: { kind: 'string', help: 'Session for -acquire / -release.' },
};

const DELETE_FLAGS: Record<string, FlagDef> = {
  ...HTTP_FLAGS,
  cas: { kind: 'bool', help: 'Delete only if -modify-index matches.' },
  'modify-index': { kind: 'int', help: 'ModifyIndex for -cas.' },
  recurse: { kind: 'bool', help: 'Delete every key under the prefix.' },
};

const decode = (v: string | null): Buffer => (v === null ? Buffer.alloc(0) : Buffer.from(v, 'base64'));

/** The detailed view: label, then the value, aligned as Consul's tabwriter aligns them. */
function detailed(p: Pair, base64: boolean): string {
  const rows: [string, string][] = [
    ['CreateIndex', String(p.CreateIndex)],
    ['Flags', String(p.Flags)],
    ['Key', p.Key],
    ['LockIndex', String(p.LockIndex)],
    ['ModifyIndex', String(p.ModifyIndex)],
    ['Session', p.Session ?? '-'],
    ['Value', base64 ? (p.Value ?? '') : decode(p.Value).toString('utf8')],
  ];
  return rows.map(([k, v]) => `${k.padEnd(17)}${v}\n`).join('');
}

/** DATA: "-" reads stdin, "@file" reads a file, anything else is the value itself. */
function readData(arg: string | undefined, stdin: () => Buffer): Buffer {
  if (arg === undefined) return Buffer.alloc(0);
  if (arg === '-') return stdin();
  if (arg.startsWith('@')) return fs.readFileSync(arg.slice(1));
  return Buffer.from(arg, 'utf8');
}

async function get(argv: string[], out: Output): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, GET_FLAGS);
  const key = args[0] ?? '';
  if (args.length > 1) throw new UsageError(`Too many arguments (expected 1, got ${args.length})`);
  const api = new ApiClient(flags);
  const path = `/v1/kv/${keyPath(key)}`;
  if (flags.keys === true) {
    const r = await api.call('GET', path, { keys: true, separator: (flags.separator as string | undefined) ?? '/' });
    if (r.status === 404) return 0;
    if (r.status !== 200) throw new ApiError(r.status, `Error querying Consul agent: Unexpected response code: ${r.status} (${r.text})`);
    for (const k of JSON.parse(r.text) as string[]) out.stdout(`${k}\n`);
    return 0;
  }
  if (flags.recurse === true) {
    const r = await api.call('GET', path, { recurse: true });
    if (r.status === 404) return 0;
    if (r.status !== 200) throw new ApiError(r.status, `Error querying Consul agent: Unexpected response code: ${r.status} (${r.text})`);
    const pairs = JSON.parse(r.text) as Pair[];
    pairs.forEach((p, i) => {
      if (flags.detailed === true) out.stdout(detailed(p, flags.base64 === true) + (i < pairs.length - 1 ? '\n' : ''));
      else out.stdout(Buffer.concat([Buffer.from(`${p.Key}:`), flags.base64 === true ? Buffer.from(p.Value ?? '') : decode(p.Value), Buffer.from('\n')]));
    });
    return 0;
  }
  if (key === '') throw new UsageError('Missing KEY argument');
  const r = await api.call('GET', path);
  if (r.status === 404) {
    out.stderr(`Error! No key exists at: ${key}\n`);
    return 1;
  }
  if (r.status !== 200) throw new ApiError(r.status, `Error querying Consul agent: Unexpected response code: ${r.status} (${r.text})`);
  const [pair] = JSON.parse(r.text) as Pair[];
  if (!pair) return 1;
  if (flags.detailed === true) out.stdout(detailed(pair, flags.base64 === true));
  else out.stdout(Buffer.concat([flags.base64 === true ? Buffer.from(pair.Value ?? '') : decode(pair.Value), Buffer.from('\n')]));
  return 0;
}

async function put(argv: string[], out: Output, stdin: () => Buffer): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, PUT_FLAGS);
  const key = args[0];
  if (key === undefined) throw new UsageError('Missing KEY argument');
  if (args.length > 2) throw new UsageError(`Too many arguments (expected 1 or 2, got ${args.length})`);
  if (flags.cas === true && flags['modify-index'] === undefined) throw new UsageError('Must specify -modify-index with -cas!');
  if ((flags.acquire === true || flags.release === true) && !flags.session) throw new UsageError('Error! Missing -session (required with -acquire and -release)');
  let data = readData(args[1], stdin);
  if (flags.base64 === true) data = Buffer.from(data.toString('utf8'), 'base64');
  const api = new ApiClient(flags);
  const query: Record<string, string | number | boolean | undefined> = { flags: flags.flags as string | undefined };
  if (flags.cas === true) query.cas = flags['modify-index'] as number;
  if (flags.acquire === true) query.acquire = flags.session as string;
  if (flags.release === true) query.release = flags.session as string;
  const r = await api.call('PUT', `/v1/kv/${keyPath(key)}`, query, data);
  if (r.status !== 200) {
    out.stderr(`Error! Failed writing data: Unexpected response code: ${r.status} (${r.text})\n`);
    return 1;
  }
  const ok = r.text.trim() === 'true';
  if (flags.acquire === true) {
    if (!ok) {
      out.stderr('Error! Did not acquire lock\n');
      return 1;
    }
    out.stdout(`Success! Lock acquired on: ${key}\n`);
  } else if (flags.release === true) {
    if (!ok) {
      out.stderr(`Error! Did not release lock on: ${key}\n`);
      return 1;
    }
    out.stdout(`Success! Lock released on: ${key}\n`);
  } else if (!ok) {
    out.stderr(`Error! Did not write to ${key}: CAS failed\n`);
    return 1;
  } else {
    out.stdout(`Success! Data written to: ${key}\n`);
  }
  return 0;
}

async function del(argv: string[], out: Output): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, DELETE_FLAGS);
  const key = args[0] ?? '';
  if (args.length > 1) throw new UsageError(`Too many arguments (expected 1, got ${args.length})`);
  if (flags.cas === true && flags.recurse === true) throw new UsageError('Cannot specify both -cas and -recurse!');
  if (flags.cas === true && flags['modify-index'] === undefined) throw new UsageError('Must specify -modify-index with -cas!');
  if (key === '' && flags.recurse !== true) throw new UsageError('Error! Missing KEY argument');
  const api = new ApiClient(flags);
  const r = await api.call('DELETE', `/v1/kv/${keyPath(key)}`, { recurse: flags.recurse === true, cas: flags.cas === true ? (flags['modify-index'] as number) : undefined });
  if (r.status !== 200) {
    out.stderr(`Error! Did not delete key ${key}: Unexpected response code: ${r.status} (${r.text})\n`);
    return 1;
  }
  if (r.text.trim() !== 'true') {
    out.stderr(`Error! Did not delete key ${key}: CAS failed\n`);
    return 1;
  }
  out.stdout(flags.recurse === true ? `Success! Deleted keys with prefix: ${key}\n` : `Success! Deleted key: ${key}\n`);
  return 0;
}

/** `kv export [PREFIX]`: [{key, flags, value (base64)}] as Consul writes it (tab-indented). */
async function exportKV(argv: string[], out: Output): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, HTTP_FLAGS);
  const api = new ApiClient(flags);
  const r = await api.call('GET', `/v1/kv/${keyPath(args[0] ?? '')}`, { recurse: true });
  if (r.status !== 200 && r.status !== 404) throw new ApiError(r.status, `Error querying Consul agent: Unexpected response code: ${r.status} (${r.text})`);
  const pairs = r.status === 404 ? [] : (JSON.parse(r.text) as Pair[]);
  out.stdout(`${JSON.stringify(pairs.map((p) => ({ key: p.Key, flags: Number(p.Flags), value: p.Value ?? '' })), null, '\t')}\n`);
  return 0;
}

async function importKV(argv: string[], out: Output, stdin: () => Buffer): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, { ...HTTP_FLAGS, prefix: { kind: 'string', help: 'Key prefix for every imported key.', default: '' } });
  const text = readData(args[0] ?? '-', stdin).toString('utf8');
  let entries: { key: string; flags?: number; value?: string }[];
  try {
    entries = JSON.parse(text) as typeof entries;
    if (!Array.isArray(entries)) throw new Error('expected a JSON array');
  } catch (e) {
    out.stderr(`Cannot unmarshal data: ${(e as Error).message}\n`);
    return 1;
  }
  const api = new ApiClient(flags);
  for (const e of entries) {
    const key = `${flags.prefix as string}${e.key}`;
    const r = await api.call('PUT', `/v1/kv/${keyPath(key)}`, { flags: e.flags ?? 0 }, Buffer.from(e.value ?? '', 'base64'));
    if (r.status !== 200) {
      out.stderr(`Error! Failed writing data for key ${key}: Unexpected response code: ${r.status} (${r.text})\n`);
      return 1;
    }
    out.stdout(`Imported: ${key}\n`);
  }
  return 0;
}

export async function kvCommand(argv: string[], out: Output, stdin: () => Buffer): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'get':
      return get(rest, out);
    case 'put':
      return put(rest, out, stdin);
    case 'delete':
      return del(rest, out);
    case 'export':
      return exportKV(rest, out);
    case 'import':
      return importKV(rest, out, stdin);
    default:
      out.stderr('Usage: tribune kv <subcommand> [options] [args]\n\nSubcommands:\n    delete    Removes data from the KV store\n    export    Exports a tree from the KV store as JSON\n    get       Retrieves or lists data from the KV store\n    import    Imports a tree stored as JSON to the KV store\n    put       Sets or updates data in the KV store\n');
      return 1;
  }
}
