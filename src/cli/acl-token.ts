// `tribune acl token create|read|update|delete|list|clone`, as Consul 1.10's acl token commands.
// (-expanded came with Consul 1.11 and the agent has no ?expanded read, so it is not offered.)

import { parseDuration } from '../util/duration.js';
import { ApiClient, HTTP_FLAGS } from './api-client.js';
import {
  attempt,
  dispatch,
  fail,
  FORMAT_FLAGS,
  IDENTITY_FLAGS,
  list,
  nodeIdentities,
  policyIDFromPartial,
  printer,
  put,
  readOrNull,
  roleIDFromPartial,
  serviceIdentities,
  str,
  tokenIDFromPartial,
} from './acl-common.js';
import { type Link, type Token, tokenJSON, tokenListJSON, tokenListPretty, tokenPretty } from './acl-format.js';
import { type FlagDef, parseCommandFlags } from './flags.js';
import type { Output } from './output.js';

const LINK_FLAGS: Record<string, FlagDef> = {
  'policy-id': { kind: 'list', help: 'ID of a policy to use for this token (a unique prefix will do). May be specified multiple times.' },
  'policy-name': { kind: 'list', help: 'Name of a policy to use for this token. May be specified multiple times.' },
  'role-id': { kind: 'list', help: 'ID of a role to use for this token (a unique prefix will do). May be specified multiple times.' },
  'role-name': { kind: 'list', help: 'Name of a role to use for this token. May be specified multiple times.' },
  ...IDENTITY_FLAGS,
};

const byName = (names: string[]): Link[] => names.map((Name) => ({ ID: '', Name }));

async function byID(ids: string[], resolve: (id: string) => Promise<string>, what: 'policy' | 'role'): Promise<Link[]> {
  const out: Link[] = [];
  for (const raw of ids) out.push({ ID: await attempt(`Error resolving ${what} ID ${raw}`, () => resolve(raw)), Name: '' });
  return out;
}

async function create(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...FORMAT_FLAGS,
    accessor: { kind: 'string', help: 'Create the token with this Accessor ID. It must be a UUID. If not specified one will be auto-generated.' },
    secret: { kind: 'string', help: 'Create the token with this Secret ID. It must be a UUID. If not specified one will be auto-generated.' },
    local: { kind: 'bool', help: 'Create this as a datacenter local token.' },
    description: { kind: 'string', help: 'A description of the token.' },
    'expires-ttl': { kind: 'string', help: 'Duration of time this token should be valid for.' },
    ...LINK_FLAGS,
  });
  let ttl = 0;
  if (flags['expires-ttl'] !== undefined) {
    try {
      ttl = parseDuration(str(flags, 'expires-ttl'));
    } catch {
      throw fail(`invalid value ${JSON.stringify(flags['expires-ttl'])} for flag -expires-ttl: parse error`);
    }
  }
  if (['policy-name', 'policy-id', 'role-name', 'role-id', 'service-identity', 'node-identity'].every((k) => list(flags, k).length === 0)) {
    throw fail('Cannot create a token without specifying -policy-name, -policy-id, -role-name, -role-id, -service-identity, or -node-identity at least once');
  }
  const api = new ApiClient(flags);
  const body = {
    Description: str(flags, 'description'),
    Local: flags.local === true,
    AccessorID: str(flags, 'accessor'),
    SecretID: str(flags, 'secret'),
    ...(ttl > 0 ? { ExpirationTTL: ttl } : {}),
    ServiceIdentities: serviceIdentities(list(flags, 'service-identity')),
    NodeIdentities: nodeIdentities(list(flags, 'node-identity')),
    Policies: [...byName(list(flags, 'policy-name')), ...(await byID(list(flags, 'policy-id'), (id) => policyIDFromPartial(api, id), 'policy'))],
    Roles: [...byName(list(flags, 'role-name')), ...(await byID(list(flags, 'role-id'), (id) => roleIDFromPartial(api, id), 'role'))],
  };
  const t = await attempt('Failed to create new token', () => put<Token>(api, '/v1/acl/token', body));
  printer(out, flags)(t, tokenPretty, tokenJSON);
  return 0;
}

async function read(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...FORMAT_FLAGS,
    id: { kind: 'string', help: 'The Accessor ID of the token to read. It may be specified as a unique ID prefix but will error if the prefix matches multiple token Accessor IDs.' },
    self: { kind: 'bool', help: 'Indicates that the current HTTP token should be read by secret ID instead of expecting a -id option.' },
  });
  const id = str(flags, 'id');
  if (id === '' && flags.self !== true) throw fail('Must specify the -id parameter');
  const api = new ApiClient(flags);
  let t: Token | null;
  if (flags.self === true) {
    t = await attempt(`Error reading token ${JSON.stringify(id)}`, () => readOrNull<Token>(api, '/v1/acl/token/self'));
  } else {
    const accessor = await attempt('Error determining token ID', () => tokenIDFromPartial(api, id));
    t = await attempt(`Error reading token ${JSON.stringify(accessor)}`, () => readOrNull<Token>(api, `/v1/acl/token/${encodeURIComponent(accessor)}`));
  }
  if (!t) throw fail(`Token not found with ID ${JSON.stringify(id)}`);
  printer(out, flags)(t, tokenPretty, tokenJSON);
  return 0;
}

/** The current links, or (merging) those plus the new ones not already there, as Consul 1.10. */
async function mergeLinks(current: Link[] | undefined, merge: boolean, names: string[], ids: Link[]): Promise<Link[]> {
  const base = merge ? [...(current ?? [])] : [];
  for (const n of names) if (!merge || !base.some((l) => l.Name === n)) base.push({ ID: '', Name: n });
  for (const l of ids) if (!merge || !base.some((x) => x.ID === l.ID)) base.push(l);
  return Promise.resolve(base);
}

async function update(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...FORMAT_FLAGS,
    id: { kind: 'string', help: 'The Accessor ID of the token to update. It may be specified as a unique ID prefix but will error if the prefix matches multiple token Accessor IDs.' },
    description: { kind: 'string', help: 'A description of the token.' },
    'merge-policies': { kind: 'bool', help: 'Merge the new policies with the existing policies.' },
    'merge-roles': { kind: 'bool', help: 'Merge the new roles with the existing roles.' },
    'merge-service-identities': { kind: 'bool', help: 'Merge the new service identities with the existing service identities.' },
    'merge-node-identities': { kind: 'bool', help: 'Merge the new node identities with the existing node identities.' },
    ...LINK_FLAGS,
  });
  const id = str(flags, 'id');
  if (id === '') throw fail('Cannot update a token without specifying the -id parameter');
  const api = new ApiClient(flags);
  const accessor = await attempt('Error determining token ID', () => tokenIDFromPartial(api, id));
  const t = await attempt('Error when retrieving current token', async () => {
    const cur = await readOrNull<Token>(api, `/v1/acl/token/${encodeURIComponent(accessor)}`);
    if (!cur) throw new Error(`Token not found with ID ${JSON.stringify(accessor)}`);
    return cur;
  });
  if (str(flags, 'description') !== '') t.Description = str(flags, 'description');
  const svcs = serviceIdentities(list(flags, 'service-identity'));
  const nodes = nodeIdentities(list(flags, 'node-identity'));
  t.Policies = await mergeLinks(t.Policies, flags['merge-policies'] === true, list(flags, 'policy-name'), await byID(list(flags, 'policy-id'), (x) => policyIDFromPartial(api, x), 'policy'));
  t.Roles = await mergeLinks(t.Roles, flags['merge-roles'] === true, list(flags, 'role-name'), await byID(list(flags, 'role-id'), (x) => roleIDFromPartial(api, x), 'role'));
  if (flags['merge-service-identities'] === true) {
    const merged = [...(t.ServiceIdentities ?? [])];
    for (const s of svcs) {
      const i = merged.findIndex((x) => x.ServiceName === s.ServiceName);
      if (i >= 0) merged[i] = s;
      else merged.push(s);
    }
    t.ServiceIdentities = merged;
  } else t.ServiceIdentities = svcs;
  if (flags['merge-node-identities'] === true) {
    const merged = [...(t.NodeIdentities ?? [])];
    for (const n of nodes) if (!merged.some((x) => x.NodeName === n.NodeName && x.Datacenter === n.Datacenter)) merged.push(n);
    t.NodeIdentities = merged;
  } else t.NodeIdentities = nodes;
  const saved = await attempt(`Failed to update token ${accessor}`, () => put<Token>(api, `/v1/acl/token/${encodeURIComponent(accessor)}`, t));
  printer(out, flags)(saved, tokenPretty, tokenJSON);
  return 0;
}

async function remove(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...HTTP_FLAGS,
    id: { kind: 'string', help: 'The Accessor ID of the token to delete. It may be specified as a unique ID prefix but will error if the prefix matches multiple token Accessor IDs.' },
  });
  const id = str(flags, 'id');
  if (id === '') throw fail('Must specify the -id parameter');
  const api = new ApiClient(flags);
  const accessor = await attempt('Error determining token ID', () => tokenIDFromPartial(api, id));
  await attempt(`Error deleting token ${JSON.stringify(accessor)}`, () => api.ok('DELETE', `/v1/acl/token/${encodeURIComponent(accessor)}`));
  out.stdout(`Token ${JSON.stringify(accessor)} deleted successfully\n`);
  return 0;
}

async function listTokens(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, FORMAT_FLAGS);
  const api = new ApiClient(flags);
  const ts = await attempt('Failed to retrieve the token list', () => api.json<Token[]>('/v1/acl/tokens'));
  printer(out, flags)(ts, tokenListPretty, tokenListJSON);
  return 0;
}

async function clone(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...FORMAT_FLAGS,
    id: { kind: 'string', help: 'The Accessor ID of the token to clone. It may be specified as a unique ID prefix but will error if the prefix matches multiple token Accessor IDs. The special value of \'anonymous\' may be provided instead of the anonymous tokens accessor ID.' },
    description: { kind: 'string', help: 'A description of the new cloned token.' },
  });
  const id = str(flags, 'id');
  if (id === '') throw fail('Cannot clone a token without specifying the -id parameter');
  const api = new ApiClient(flags);
  const accessor = await attempt('Error determining token ID', () => tokenIDFromPartial(api, id));
  const t = await attempt('Failed to clone token', () => put<Token>(api, `/v1/acl/token/${encodeURIComponent(accessor)}/clone`, { Description: str(flags, 'description') }));
  printer(out, flags)(t, tokenPretty, tokenJSON);
  return 0;
}

export const tokenCommand = dispatch('acl token', {
  create: { run: create, help: 'Create an ACL token' },
  read: { run: read, help: 'Read an ACL token' },
  update: { run: update, help: 'Update an ACL token' },
  delete: { run: remove, help: 'Delete an ACL token' },
  list: { run: listTokens, help: 'List ACL tokens' },
  clone: { run: clone, help: 'Clone an ACL token' },
});
