// What the acl commands share (Consul's command/acl/acl_helpers.go and command/helpers): loading
// a value from a file or stdin, unique ID prefixes, identity flags, -format / -meta, and errors.

import fs from 'node:fs';
import { ApiClient, ApiError, HTTP_FLAGS } from './api-client.js';
import { checkFormat, formatHelp, type NodeIdentity, type ServiceIdentity } from './acl-format.js';
import { type FlagDef, type FlagValues, UsageError } from './flags.js';
import type { Output } from './output.js';

export const ANONYMOUS_ID = '00000000-0000-0000-0000-000000000002';
export const GLOBAL_MANAGEMENT_ID = '00000000-0000-0000-0000-000000000001';

/** A command's failure: its text on stderr, exit code 1 (Consul's c.UI.Error, return 1). */
export const fail = (msg: string): UsageError => new UsageError(msg);

export const FORMAT_FLAGS: Record<string, FlagDef> = {
  ...HTTP_FLAGS,
  meta: { kind: 'bool', help: 'Indicates that metadata such as the content hash and raft indices should be shown for each entry.' },
  format: { kind: 'string', help: formatHelp, default: 'pretty' },
};

export const IDENTITY_FLAGS: Record<string, FlagDef> = {
  'service-identity': { kind: 'list', help: 'Name of a service identity: SERVICENAME or SERVICENAME:DATACENTER1,DATACENTER2,... May be specified multiple times.' },
  'node-identity': { kind: 'list', help: 'Name of a node identity: NODENAME:DATACENTER. May be specified multiple times.' },
};

export const list = (flags: FlagValues, name: string): string[] => (flags[name] as string[] | undefined) ?? [];
export const str = (flags: FlagValues, name: string): string => (flags[name] as string | undefined) ?? '';

/**
 * The printer chosen by -format, checked before any request as Consul builds its formatter
 * after the call but fails the same way ("Unknown format: x").
 */
export function printer(out: Output, flags: FlagValues): <T>(v: T, pretty: (v: T, meta: boolean) => string, json: (v: T) => string) => void {
  let format: 'pretty' | 'json';
  try {
    format = checkFormat(str(flags, 'format'));
  } catch (e) {
    throw fail((e as Error).message);
  }
  const meta = flags.meta === true;
  return (v, pretty, json) => {
    const s = format === 'json' ? json(v) : pretty(v, meta);
    // c.UI.Info adds a newline, and prints nothing for an empty string.
    if (s !== '') out.stdout(`${s}\n`);
  };
}

/** helpers.LoadDataSource: "" is nothing, "@path" a file, "-" stdin, anything else the value. */
export function loadData(arg: string, stdin: () => Buffer): string {
  if (arg === '') return '';
  if (arg.startsWith('@')) {
    try {
      return fs.readFileSync(arg.slice(1), 'utf8');
    } catch (e) {
      throw new Error(`Failed to read file: ${(e as Error).message}`, { cause: e });
    }
  }
  if (arg === '-') {
    try {
      return stdin().toString('utf8');
    } catch (e) {
      throw new Error(`Failed to read stdin: ${(e as Error).message}`, { cause: e });
    }
  }
  return arg;
}

export function serviceIdentities(raw: string[]): ServiceIdentity[] {
  return raw.map((s) => {
    const parts = s.split(':');
    if (parts.length === 1) return { ServiceName: parts[0] ?? '' };
    if (parts.length === 2) return { ServiceName: parts[0] ?? '', Datacenters: (parts[1] ?? '').split(',') };
    throw fail(`Malformed -service-identity argument: ${JSON.stringify(s)}`);
  });
}

export function nodeIdentities(raw: string[]): NodeIdentity[] {
  return raw.map((s) => {
    const parts = s.split(':');
    if (parts.length !== 2) throw fail(`Malformed -node-identity argument: ${JSON.stringify(s)}`);
    return { NodeName: parts[0] ?? '', Datacenter: parts[1] ?? '' };
  });
}

/** A GET that answers null on 404 (the api client's "not found"), the object otherwise. */
export async function readOrNull<T>(api: ApiClient, path: string): Promise<T | null> {
  const r = await api.call('GET', path);
  if (r.status === 404) return null;
  if (r.status < 200 || r.status > 299) throw new ApiError(r.status, `Unexpected response code: ${r.status} (${r.text})`);
  return JSON.parse(r.text) as T;
}

/** A PUT of a JSON body that must succeed; resolves with the agent's answer. */
export async function put<T>(api: ApiClient, path: string, body: unknown): Promise<T> {
  return JSON.parse((await api.ok('PUT', path, {}, JSON.stringify(body))).text) as T;
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Runs `fn`; an API or loading error becomes Consul's `<prefix>: <error>`. */
export async function attempt<T>(prefix: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw fail(`${prefix}: ${errText(e)}`);
  }
}

/** A full ID is taken as given; a prefix must match exactly one of the listed IDs. */
async function fromPartial(api: ApiClient, partial: string, path: string, key: 'AccessorID' | 'ID', what: string): Promise<string> {
  if (partial.length === 36) return partial;
  const found = (await api.json<Record<string, string>[]>(path)).map((x) => x[key] ?? '').filter((id) => id.startsWith(partial));
  if (found.length > 1) throw new Error(`Partial ${what} ID is not unique`);
  if (found.length === 0) throw new Error(`No such ${what} ID with prefix: ${partial}`);
  return found[0] ?? '';
}

export const tokenIDFromPartial = (api: ApiClient, id: string): Promise<string> => (id === 'anonymous' ? Promise.resolve(ANONYMOUS_ID) : fromPartial(api, id, '/v1/acl/tokens', 'AccessorID', 'token'));
export const policyIDFromPartial = (api: ApiClient, id: string): Promise<string> =>
  id === 'global-management' ? Promise.resolve(GLOBAL_MANAGEMENT_ID) : fromPartial(api, id, '/v1/acl/policies', 'ID', 'policy');
export const roleIDFromPartial = (api: ApiClient, id: string): Promise<string> => fromPartial(api, id, '/v1/acl/roles', 'ID', 'role');
export const ruleIDFromPartial = (api: ApiClient, id: string): Promise<string> => fromPartial(api, id, '/v1/acl/binding-rules', 'ID', 'binding rule');

export async function policyIDByName(api: ApiClient, name: string): Promise<string> {
  if (name === '') throw new Error('No name specified');
  const p = (await api.json<{ ID: string; Name: string }[]>('/v1/acl/policies')).find((x) => x.Name === name);
  if (!p) throw new Error(`No such policy with name ${name}`);
  return p.ID;
}

export async function roleIDByName(api: ApiClient, name: string): Promise<string> {
  if (name === '') throw new Error('No name specified');
  const r = (await api.json<{ ID: string; Name: string }[]>('/v1/acl/roles')).find((x) => x.Name === name);
  if (!r) throw new Error(`No such role with name ${name}`);
  return r.ID;
}

/** The rules of a legacy token, by accessor or (isSecret) as the token itself: GetRulesFromLegacyToken. */
export async function legacyTokenRules(api: ApiClient, id: string, isSecret: boolean): Promise<string> {
  let token: { Rules?: string } | null;
  try {
    token = isSecret ? await readOrNull(api.withToken(id), '/v1/acl/token/self') : await readOrNull(api, `/v1/acl/token/${encodeURIComponent(id)}`);
  } catch (e) {
    throw new Error(`Error reading token: ${errText(e)}`, { cause: e });
  }
  if (!token) throw new Error('Token not found for ID');
  if (!token.Rules) throw new Error('Token is not a legacy token with rules');
  return token.Rules;
}

/** The subcommand table of `acl token`, `acl policy`…: runs one, or prints the usage (exit 1). */
export type Sub = (argv: string[], out: Output, stdin: () => Buffer) => Promise<number>;

export function dispatch(name: string, subs: Record<string, { run: Sub; help: string }>): Sub {
  return (argv, out, stdin) => {
    const [sub, ...rest] = argv;
    const s = sub === undefined ? undefined : subs[sub];
    if (s) return s.run(rest, out, stdin);
    const width = Math.max(...Object.keys(subs).map((k) => k.length));
    const lines = Object.entries(subs).map(([k, v]) => `    ${k.padEnd(width)}    ${v.help}`);
    out.stderr(`Usage: tribune ${name} <subcommand> [options] [args]\n\nSubcommands:\n${lines.join('\n')}\n`);
    return Promise.resolve(1);
  };
}

export { ApiClient };
