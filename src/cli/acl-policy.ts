// `tribune acl policy create|read|update|delete|list`, as Consul 1.10's acl policy commands.

import { translateLegacyRules } from '../acl/translate.js';
import { ApiClient, HTTP_FLAGS } from './api-client.js';
import { attempt, dispatch, fail, FORMAT_FLAGS, legacyTokenRules, list, loadData, policyIDByName, policyIDFromPartial, printer, put, readOrNull, str } from './acl-common.js';
import { type Policy, policyJSON, policyListJSON, policyListPretty, policyPretty } from './acl-format.js';
import { type FlagDef, type FlagValues, parseCommandFlags } from './flags.js';
import type { Output } from './output.js';

const RULE_FLAGS: Record<string, FlagDef> = {
  description: { kind: 'string', help: 'A description of the policy.' },
  'valid-datacenter': { kind: 'list', help: 'Datacenter that the policy should be valid within. This flag may be specified multiple times.' },
  rules: { kind: 'string', help: "The policy rules. May be prefixed with '@' to indicate that the value is a file path to load the rules from. '-' may also be given to indicate that the rules are available on stdin." },
};

const ID_FLAGS: Record<string, FlagDef> = {
  id: { kind: 'string', help: 'The ID of the policy. It may be specified as a unique ID prefix but will error if the prefix matches multiple policy IDs.' },
  name: { kind: 'string', help: 'The name of the policy.' },
};

/** -rules, or the translated rules of the legacy token given with -from-token. */
async function rules(api: ApiClient, flags: FlagValues, stdin: () => Buffer): Promise<string> {
  const from = str(flags, 'from-token');
  if (from !== '' && str(flags, 'rules') !== '') throw new Error('Cannot specify both -rules and -from-token');
  if (from === '') return loadData(str(flags, 'rules'), stdin);
  let id: string;
  try {
    id = loadData(from, stdin).trim();
  } catch (e) {
    throw new Error(`Invalid -from-token value: ${(e as Error).message}`, { cause: e });
  }
  return translateLegacyRules(await legacyTokenRules(api, id, flags['token-secret'] === true));
}

/** The policy ID from -id (a unique prefix) or else -name. */
const policyID = (api: ApiClient, flags: FlagValues): Promise<string> =>
  attempt('Error determining policy ID', () => (str(flags, 'id') !== '' ? policyIDFromPartial(api, str(flags, 'id')) : policyIDByName(api, str(flags, 'name'))));

async function create(argv: string[], out: Output, stdin: () => Buffer): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...FORMAT_FLAGS,
    name: { kind: 'string', help: 'The new policy’s name. This flag is required.' },
    ...RULE_FLAGS,
    'from-token': { kind: 'string', help: 'The legacy token to retrieve the rules for when creating this policy. When this is specified no other rules should be given. Similar to the -rules option the token to use can be loaded from stdin or from a file.' },
    'token-secret': { kind: 'bool', help: 'Indicates the token provided with -from-token is a SecretID and not an AccessorID.' },
  });
  if (str(flags, 'name') === '') throw fail("Missing require '-name' flag");
  const api = new ApiClient(flags);
  const text = await attempt('Error loading rules', () => rules(api, flags, stdin));
  const body = { Name: str(flags, 'name'), Description: str(flags, 'description'), Datacenters: list(flags, 'valid-datacenter'), Rules: text };
  const p = await attempt('Failed to create new policy', () => put<Policy>(api, '/v1/acl/policy', body));
  printer(out, flags)(p, policyPretty, policyJSON);
  return 0;
}

async function read(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, { ...FORMAT_FLAGS, ...ID_FLAGS });
  if (str(flags, 'id') === '' && str(flags, 'name') === '') throw fail('Must specify either the -id or -name parameters');
  const api = new ApiClient(flags);
  const id = await policyID(api, flags);
  const p = await attempt(`Error reading policy ${JSON.stringify(id)}`, () => readOrNull<Policy>(api, `/v1/acl/policy/${encodeURIComponent(id)}`));
  if (!p) throw fail(`Policy not found with ID ${JSON.stringify(id)}`);
  printer(out, flags)(p, policyPretty, policyJSON);
  return 0;
}

async function update(argv: string[], out: Output, stdin: () => Buffer): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...FORMAT_FLAGS,
    id: ID_FLAGS.id!,
    name: { kind: 'string', help: 'The policy name. With -id this renames the policy; alone it names the policy to update.' },
    ...RULE_FLAGS,
    'no-merge': { kind: 'bool', help: 'Do not merge the current policy information with what is provided to the command. Instead overwrite all fields with the exception of the policy ID which is immutable.' },
  });
  if (str(flags, 'id') === '' && str(flags, 'name') === '') throw fail('Cannot update a policy without specifying the -id or -name parameter');
  const api = new ApiClient(flags);
  const id = await policyID(api, flags);
  const text = await attempt('Error loading rules', () => rules(api, flags, stdin));
  let p: Policy;
  if (flags['no-merge'] === true) {
    p = { ID: id, Name: str(flags, 'name'), Description: str(flags, 'description'), Datacenters: list(flags, 'valid-datacenter'), Rules: text, CreateIndex: 0, ModifyIndex: 0 };
  } else {
    p = await attempt('Error retrieving current policy', async () => {
      const cur = await readOrNull<Policy>(api, `/v1/acl/policy/${encodeURIComponent(id)}`);
      if (!cur) throw new Error(`Policy not found with ID ${JSON.stringify(id)}`);
      return cur;
    });
    if (str(flags, 'name') !== '') p.Name = str(flags, 'name');
    if (str(flags, 'description') !== '') p.Description = str(flags, 'description');
    if (list(flags, 'valid-datacenter').length > 0) p.Datacenters = list(flags, 'valid-datacenter');
    if (text !== '') p.Rules = text;
  }
  const saved = await attempt(`Failed to update policy ${id}`, () => put<Policy>(api, `/v1/acl/policy/${encodeURIComponent(id)}`, p));
  printer(out, flags)(saved, policyPretty, policyJSON);
  return 0;
}

async function remove(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, { ...HTTP_FLAGS, ...ID_FLAGS });
  if (str(flags, 'id') === '' && str(flags, 'name') === '') throw fail('Must specify either the -id or -name parameters');
  const api = new ApiClient(flags);
  const id = await policyID(api, flags);
  await attempt(`Error deleting policy ${JSON.stringify(id)}`, () => api.ok('DELETE', `/v1/acl/policy/${encodeURIComponent(id)}`));
  out.stdout(`Policy ${JSON.stringify(id)} deleted successfully\n`);
  return 0;
}

async function listPolicies(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, FORMAT_FLAGS);
  const api = new ApiClient(flags);
  const ps = await attempt('Failed to retrieve the policy list', () => api.json<Policy[]>('/v1/acl/policies'));
  printer(out, flags)(ps, policyListPretty, policyListJSON);
  return 0;
}

export const policyCommand = dispatch('acl policy', {
  create: { run: create, help: 'Create an ACL policy' },
  read: { run: read, help: 'Read an ACL policy' },
  update: { run: update, help: 'Update an ACL policy' },
  delete: { run: remove, help: 'Delete an ACL policy' },
  list: { run: listPolicies, help: 'Lists ACL policies' },
});
