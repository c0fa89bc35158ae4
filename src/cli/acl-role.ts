// `tribune acl role create|read|update|delete|list`, as Consul 1.10's acl role commands.

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
  roleIDByName,
  roleIDFromPartial,
  serviceIdentities,
  str,
} from './acl-common.js';
import { type Link, type Role, roleJSON, roleListJSON, roleListPretty, rolePretty } from './acl-format.js';
import { type FlagDef, type FlagValues, parseCommandFlags } from './flags.js';
import type { Output } from './output.js';

const ROLE_FLAGS: Record<string, FlagDef> = {
  description: { kind: 'string', help: 'A description of the role.' },
  'policy-id': { kind: 'list', help: 'ID of a policy to use for this role (a unique prefix will do). May be specified multiple times.' },
  'policy-name': { kind: 'list', help: 'Name of a policy to use for this role. May be specified multiple times.' },
  ...IDENTITY_FLAGS,
};

const ID_FLAGS: Record<string, FlagDef> = {
  id: { kind: 'string', help: 'The ID of the role. It may be specified as a unique ID prefix but will error if the prefix matches multiple role IDs.' },
  name: { kind: 'string', help: 'The name of the role.' },
};

/** The -policy-name links and the resolved -policy-id ones. */
async function policyLinks(api: ApiClient, flags: FlagValues): Promise<Link[]> {
  const links: Link[] = list(flags, 'policy-name').map((Name) => ({ ID: '', Name }));
  for (const raw of list(flags, 'policy-id')) links.push({ ID: await attempt(`Error resolving policy ID ${raw}`, () => policyIDFromPartial(api, raw)), Name: '' });
  return links;
}

const roleID = (api: ApiClient, flags: FlagValues): Promise<string> =>
  attempt('Error determining role ID', () => (str(flags, 'id') !== '' ? roleIDFromPartial(api, str(flags, 'id')) : roleIDByName(api, str(flags, 'name'))));

async function create(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, { ...FORMAT_FLAGS, name: { kind: 'string', help: 'The new role’s name. This flag is required.' }, ...ROLE_FLAGS });
  if (str(flags, 'name') === '') throw fail("Missing required '-name' flag");
  if (['policy-name', 'policy-id', 'service-identity', 'node-identity'].every((k) => list(flags, k).length === 0)) {
    throw fail('Cannot create a role without specifying -policy-name, -policy-id, -service-identity, or -node-identity at least once');
  }
  const api = new ApiClient(flags);
  const body = {
    Name: str(flags, 'name'),
    Description: str(flags, 'description'),
    ServiceIdentities: serviceIdentities(list(flags, 'service-identity')),
    NodeIdentities: nodeIdentities(list(flags, 'node-identity')),
    Policies: await policyLinks(api, flags),
  };
  const r = await attempt('Failed to create new role', () => put<Role>(api, '/v1/acl/role', body));
  printer(out, flags)(r, rolePretty, roleJSON);
  return 0;
}

async function read(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, { ...FORMAT_FLAGS, ...ID_FLAGS });
  const api = new ApiClient(flags);
  let r: Role | null;
  if (str(flags, 'id') !== '') {
    const id = await roleID(api, flags);
    r = await attempt(`Error reading role ${JSON.stringify(id)}`, () => readOrNull<Role>(api, `/v1/acl/role/${encodeURIComponent(id)}`));
    if (!r) throw fail(`Role not found with ID ${JSON.stringify(id)}`);
  } else if (str(flags, 'name') !== '') {
    const name = str(flags, 'name');
    r = await attempt(`Error reading role ${JSON.stringify(name)}`, () => readOrNull<Role>(api, `/v1/acl/role/name/${encodeURIComponent(name)}`));
    if (!r) throw fail(`Role not found with name ${JSON.stringify(name)}`);
  } else {
    throw fail('Must specify either the -id or -name parameters');
  }
  printer(out, flags)(r, rolePretty, roleJSON);
  return 0;
}

async function update(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...FORMAT_FLAGS,
    id: ID_FLAGS.id!,
    name: { kind: 'string', help: 'The role name.' },
    ...ROLE_FLAGS,
    'no-merge': { kind: 'bool', help: 'Do not merge the current role information with what is provided to the command. Instead overwrite all fields with the exception of the role ID which is immutable.' },
  });
  if (str(flags, 'id') === '') throw fail('Cannot update a role without specifying the -id parameter');
  const api = new ApiClient(flags);
  const id = await roleID(api, flags);
  const svcs = serviceIdentities(list(flags, 'service-identity'));
  const nodes = nodeIdentities(list(flags, 'node-identity'));
  const links = await policyLinks(api, flags);
  let r: Role;
  if (flags['no-merge'] === true) {
    r = { ID: id, Name: str(flags, 'name'), Description: str(flags, 'description'), Policies: links, ServiceIdentities: svcs, NodeIdentities: nodes, CreateIndex: 0, ModifyIndex: 0 };
  } else {
    const cur = await attempt('Error when retrieving current role', () => readOrNull<Role>(api, `/v1/acl/role/${encodeURIComponent(id)}`));
    if (!cur) throw fail(`Role not found with ID ${JSON.stringify(id)}`);
    r = cur;
    if (str(flags, 'name') !== '') r.Name = str(flags, 'name');
    if (str(flags, 'description') !== '') r.Description = str(flags, 'description');
    const pol = [...(r.Policies ?? [])];
    for (const l of links) if (!pol.some((p) => (l.ID !== '' ? p.ID === l.ID : p.Name === l.Name))) pol.push(l);
    r.Policies = pol;
    const merged = [...(r.ServiceIdentities ?? [])];
    for (const s of svcs) {
      const i = merged.findIndex((x) => x.ServiceName === s.ServiceName);
      if (i >= 0) merged[i] = s;
      else merged.push(s);
    }
    r.ServiceIdentities = merged;
    const mergedNodes = [...(r.NodeIdentities ?? [])];
    for (const n of nodes) if (!mergedNodes.some((x) => x.NodeName === n.NodeName && x.Datacenter === n.Datacenter)) mergedNodes.push(n);
    r.NodeIdentities = mergedNodes;
  }
  const saved = await attempt(`Failed to update role ${id}`, () => put<Role>(api, `/v1/acl/role/${encodeURIComponent(id)}`, r));
  printer(out, flags)(saved, rolePretty, roleJSON);
  return 0;
}

async function remove(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, { ...HTTP_FLAGS, ...ID_FLAGS });
  if (str(flags, 'id') === '' && str(flags, 'name') === '') throw fail('Must specify either the -id or -name parameters');
  const api = new ApiClient(flags);
  const id = await roleID(api, flags);
  await attempt(`Error deleting role ${JSON.stringify(id)}`, () => api.ok('DELETE', `/v1/acl/role/${encodeURIComponent(id)}`));
  out.stdout(`Role ${JSON.stringify(id)} deleted successfully\n`);
  return 0;
}

async function listRoles(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, FORMAT_FLAGS);
  const api = new ApiClient(flags);
  const rs = await attempt('Failed to retrieve the role list', () => api.json<Role[]>('/v1/acl/roles'));
  printer(out, flags)(rs, roleListPretty, roleListJSON);
  return 0;
}

export const roleCommand = dispatch('acl role', {
  create: { run: create, help: 'Create an ACL role' },
  read: { run: read, help: 'Read an ACL role' },
  update: { run: update, help: 'Update an ACL role' },
  delete: { run: remove, help: 'Delete an ACL role' },
  list: { run: listRoles, help: 'Lists ACL roles' },
});
