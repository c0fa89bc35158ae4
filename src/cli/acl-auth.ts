// `tribune acl auth-method …` and `tribune acl binding-rule …`, as Consul 1.10's commands, against
// /v1/acl/auth-method* and /v1/acl/binding-rule* (Consul's documented API shapes).

import { formatDuration, parseDuration } from '../util/duration.js';
import { ApiClient, HTTP_FLAGS } from './api-client.js';
import { attempt, dispatch, fail, FORMAT_FLAGS, loadData, printer, put, readOrNull, ruleIDFromPartial, str } from './acl-common.js';
import {
  type AuthMethod,
  type BindingRule,
  type JsonObj,
  methodJSON,
  methodListJSON,
  methodListPretty,
  methodPretty,
  ruleJSON,
  ruleListJSON,
  ruleListPretty,
  rulePretty,
} from './acl-format.js';
import { type FlagDef, type FlagValues, parseCommandFlags } from './flags.js';
import type { Output } from './output.js';

const methodPath = (name: string): string => `/v1/acl/auth-method/${encodeURIComponent(name)}`;
const rulePath = (id: string): string => `/v1/acl/binding-rule/${encodeURIComponent(id)}`;

// --- auth methods ------------------------------------------------------------------------------

const METHOD_FLAGS: Record<string, FlagDef> = {
  'display-name': { kind: 'string', help: 'An optional name to use instead of the name field when displaying information about this auth method.' },
  description: { kind: 'string', help: 'A description of the auth method.' },
  'max-token-ttl': { kind: 'string', help: 'Duration of time all tokens created by this auth method should be valid for.' },
  'token-locality': { kind: 'string', help: 'Defines the kind of token that this auth method should produce. This can be either "local" or "global". If empty the value of "local" is assumed.' },
  config: { kind: 'string', help: "The configuration for the auth method. Must be JSON. May be prefixed with '@' to indicate that the value is a file path to load the config from. '-' may also be given to indicate that the config is available on stdin." },
  'kubernetes-host': { kind: 'string', help: 'Address of the Kubernetes API server. This flag is required for type=kubernetes.' },
  'kubernetes-ca-cert': { kind: 'string', help: "PEM encoded CA cert for use by the TLS client used to talk with the Kubernetes API. May be prefixed with '@' to indicate that the value is a file path to load the cert from." },
  'kubernetes-service-account-jwt': { kind: 'string', help: 'A Kubernetes service account JWT used to access the TokenReview API to validate other JWTs during login. This flag is required for type=kubernetes.' },
};

function maxTTL(flags: FlagValues): string | undefined {
  const raw = flags['max-token-ttl'];
  if (raw === undefined) return undefined;
  try {
    const ns = parseDuration(raw as string);
    return ns === 0 ? undefined : formatDuration(ns);
  } catch {
    throw fail(`invalid value ${JSON.stringify(raw)} for flag -max-token-ttl: parse error`);
  }
}

/** -config (JSON, from a file or stdin) or the -kubernetes-* flags; undefined when none given. */
function methodConfig(flags: FlagValues, type: string, stdin: () => Buffer, required: boolean): JsonObj | undefined {
  const k8s = ['kubernetes-host', 'kubernetes-ca-cert', 'kubernetes-service-account-jwt'].filter((k) => str(flags, k) !== '');
  if (str(flags, 'config') !== '') {
    if (k8s.length > 0) throw fail("Cannot use command line arguments with '-config' flags");
    let text: string;
    try {
      text = loadData(str(flags, 'config'), stdin);
    } catch (e) {
      throw fail(`Error loading configuration file: ${(e as Error).message}`);
    }
    try {
      return JSON.parse(text) as JsonObj;
    } catch (e) {
      throw fail(`Error parsing JSON configuration file: ${(e as Error).message}`);
    }
  }
  if (type !== 'kubernetes' || (!required && k8s.length === 0)) return undefined;
  for (const k of ['kubernetes-host', 'kubernetes-ca-cert', 'kubernetes-service-account-jwt']) if (str(flags, k) === '') throw fail(`Missing required '-${k}' flag`);
  let ca: string;
  try {
    ca = loadData(str(flags, 'kubernetes-ca-cert'), stdin);
  } catch (e) {
    throw fail(`Invalid '-kubernetes-ca-cert' value: ${(e as Error).message}`);
  }
  return { Host: str(flags, 'kubernetes-host'), CACert: ca, ServiceAccountJWT: str(flags, 'kubernetes-service-account-jwt') };
}

async function methodCreate(argv: string[], out: Output, stdin: () => Buffer): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...FORMAT_FLAGS,
    type: { kind: 'string', help: 'The new auth method’s type. This flag is required.' },
    name: { kind: 'string', help: 'The new auth method’s name. This flag is required.' },
    ...METHOD_FLAGS,
  });
  const type = str(flags, 'type');
  if (type === '') throw fail("Missing required '-type' flag");
  if (str(flags, 'name') === '') throw fail("Missing required '-name' flag");
  const ttl = maxTTL(flags);
  const body: AuthMethod = {
    ...(ttl !== undefined ? { MaxTokenTTL: ttl } : {}),
    Name: str(flags, 'name'),
    Type: type,
    DisplayName: str(flags, 'display-name'),
    Description: str(flags, 'description'),
    TokenLocality: str(flags, 'token-locality'),
    Config: methodConfig(flags, type, stdin, true) ?? null,
    CreateIndex: 0,
    ModifyIndex: 0,
  };
  const api = new ApiClient(flags);
  const m = await attempt('Failed to create new auth method', () => put<AuthMethod>(api, '/v1/acl/auth-method', body));
  printer(out, flags)(m, methodPretty, methodJSON);
  return 0;
}

const NAME_FLAG: Record<string, FlagDef> = { name: { kind: 'string', help: 'The name of the auth method.' } };

async function methodRead(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, { ...FORMAT_FLAGS, ...NAME_FLAG });
  const name = str(flags, 'name');
  if (name === '') throw fail('Must specify the -name parameter');
  const api = new ApiClient(flags);
  const m = await attempt(`Error reading auth method ${JSON.stringify(name)}`, () => readOrNull<AuthMethod>(api, methodPath(name)));
  if (!m) throw fail(`Auth method not found with name ${JSON.stringify(name)}`);
  printer(out, flags)(m, methodPretty, methodJSON);
  return 0;
}

async function methodUpdate(argv: string[], out: Output, stdin: () => Buffer): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...FORMAT_FLAGS,
    ...NAME_FLAG,
    ...METHOD_FLAGS,
    'no-merge': { kind: 'bool', help: 'Do not merge the current auth method information with what is provided to the command. Instead overwrite all fields with the exception of the name which is immutable.' },
  });
  const name = str(flags, 'name');
  if (name === '') throw fail('Cannot update an auth method without specifying the -name parameter');
  const api = new ApiClient(flags);
  const cur = await attempt('Error when retrieving current auth method', () => readOrNull<AuthMethod>(api, methodPath(name)));
  if (!cur) throw fail(`Auth method not found with name ${JSON.stringify(name)}`);
  const ttl = maxTTL(flags);
  let m: AuthMethod;
  if (flags['no-merge'] === true) {
    m = {
      ...(ttl !== undefined ? { MaxTokenTTL: ttl } : {}),
      Name: name,
      Type: cur.Type,
      DisplayName: str(flags, 'display-name'),
      Description: str(flags, 'description'),
      TokenLocality: str(flags, 'token-locality'),
      Config: methodConfig(flags, cur.Type, stdin, true) ?? null,
      CreateIndex: 0,
      ModifyIndex: 0,
    };
  } else {
    m = cur;
    if (str(flags, 'display-name') !== '') m.DisplayName = str(flags, 'display-name');
    if (str(flags, 'description') !== '') m.Description = str(flags, 'description');
    if (ttl !== undefined) m.MaxTokenTTL = ttl;
    if (str(flags, 'token-locality') !== '') m.TokenLocality = str(flags, 'token-locality');
    const config = methodConfig(flags, cur.Type, stdin, false);
    if (config !== undefined) m.Config = config;
  }
  const saved = await attempt(`Failed to update auth method ${name}`, () => put<AuthMethod>(api, methodPath(name), m));
  printer(out, flags)(saved, methodPretty, methodJSON);
  return 0;
}

async function methodDelete(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, { ...HTTP_FLAGS, ...NAME_FLAG });
  const name = str(flags, 'name');
  if (name === '') throw fail('Must specify the -name parameter');
  const api = new ApiClient(flags);
  await attempt(`Error deleting auth method ${JSON.stringify(name)}`, () => api.ok('DELETE', methodPath(name)));
  out.stdout(`Auth-method ${JSON.stringify(name)} deleted successfully\n`);
  return 0;
}

async function methodList(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, FORMAT_FLAGS);
  const api = new ApiClient(flags);
  const ms = await attempt('Failed to retrieve the auth method list', () => api.json<AuthMethod[]>('/v1/acl/auth-methods'));
  printer(out, flags)(ms, methodListPretty, methodListJSON);
  return 0;
}

export const authMethodCommand = dispatch('acl auth-method', {
  create: { run: methodCreate, help: 'Create an ACL auth method' },
  read: { run: methodRead, help: 'Read an ACL auth method' },
  update: { run: methodUpdate, help: 'Update an ACL auth method' },
  delete: { run: methodDelete, help: 'Delete an ACL auth method' },
  list: { run: methodList, help: 'Lists ACL auth methods' },
});

// --- binding rules -----------------------------------------------------------------------------

const RULE_FLAGS: Record<string, FlagDef> = {
  description: { kind: 'string', help: 'A description of the binding rule.' },
  selector: { kind: 'string', help: 'Selector is an expression that matches against verified identity attributes returned from the auth method during login.' },
  'bind-name': { kind: 'string', help: 'Name to bind on match. Can use ${var} interpolation.' },
};

const bindTypeFlag = (dflt?: string): FlagDef => ({
  kind: 'string',
  help: 'Type of binding to perform ("service" or "role").',
  ...(dflt !== undefined ? { default: dflt } : {}),
});

const ruleID = (api: ApiClient, id: string): Promise<string> => attempt('Error determining binding rule ID', () => ruleIDFromPartial(api, id));

async function ruleCreate(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...FORMAT_FLAGS,
    method: { kind: 'string', help: 'The auth method’s name for which this binding rule applies. This flag is required.' },
    ...RULE_FLAGS,
    'bind-type': bindTypeFlag('service'),
  });
  if (str(flags, 'method') === '') throw fail("Missing required '-method' flag");
  if (str(flags, 'bind-type') === '') throw fail("Missing required '-bind-type' flag");
  if (str(flags, 'bind-name') === '') throw fail("Missing required '-bind-name' flag");
  const api = new ApiClient(flags);
  const body = { Description: str(flags, 'description'), AuthMethod: str(flags, 'method'), Selector: str(flags, 'selector'), BindType: str(flags, 'bind-type'), BindName: str(flags, 'bind-name') };
  const r = await attempt('Failed to create new binding rule', () => put<BindingRule>(api, '/v1/acl/binding-rule', body));
  printer(out, flags)(r, rulePretty, ruleJSON);
  return 0;
}

const ID_FLAG: Record<string, FlagDef> = {
  id: { kind: 'string', help: 'The ID of the binding rule. It may be specified as a unique ID prefix but will error if the prefix matches multiple binding rule IDs.' },
};

async function ruleRead(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, { ...FORMAT_FLAGS, ...ID_FLAG });
  if (str(flags, 'id') === '') throw fail('Must specify the -id parameter');
  const api = new ApiClient(flags);
  const id = await ruleID(api, str(flags, 'id'));
  const r = await attempt(`Error reading binding rule ${JSON.stringify(id)}`, () => readOrNull<BindingRule>(api, rulePath(id)));
  if (!r) throw fail(`Binding rule not found with ID ${JSON.stringify(id)}`);
  printer(out, flags)(r, rulePretty, ruleJSON);
  return 0;
}

async function ruleUpdate(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, {
    ...FORMAT_FLAGS,
    ...ID_FLAG,
    ...RULE_FLAGS,
    'bind-type': bindTypeFlag(),
    'no-merge': { kind: 'bool', help: 'Do not merge the current binding rule information with what is provided to the command. Instead overwrite all fields with the exception of the binding rule ID which is immutable.' },
  });
  if (str(flags, 'id') === '') throw fail('Cannot update a binding rule without specifying the -id parameter');
  const api = new ApiClient(flags);
  const id = await ruleID(api, str(flags, 'id'));
  const cur = await attempt('Error when retrieving current binding rule', () => readOrNull<BindingRule>(api, rulePath(id)));
  if (!cur) throw fail(`Binding rule not found with ID ${JSON.stringify(id)}`);
  let r: BindingRule;
  if (flags['no-merge'] === true) {
    if (str(flags, 'bind-type') === '') throw fail("Missing required '-bind-type' flag");
    if (str(flags, 'bind-name') === '') throw fail("Missing required '-bind-name' flag");
    r = { ...cur, Description: str(flags, 'description'), Selector: str(flags, 'selector'), BindType: str(flags, 'bind-type'), BindName: str(flags, 'bind-name') };
  } else {
    r = cur;
    for (const [flag, field] of [
      ['description', 'Description'],
      ['selector', 'Selector'],
      ['bind-type', 'BindType'],
      ['bind-name', 'BindName'],
    ] as const) {
      if (str(flags, flag) !== '') r[field] = str(flags, flag);
    }
  }
  const saved = await attempt(`Failed to update binding rule ${id}`, () => put<BindingRule>(api, rulePath(id), r));
  printer(out, flags)(saved, rulePretty, ruleJSON);
  return 0;
}

async function ruleDelete(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, { ...HTTP_FLAGS, ...ID_FLAG });
  if (str(flags, 'id') === '') throw fail('Must specify the -id parameter');
  const api = new ApiClient(flags);
  const id = await ruleID(api, str(flags, 'id'));
  await attempt(`Error deleting binding rule ${JSON.stringify(id)}`, () => api.ok('DELETE', rulePath(id)));
  out.stdout(`Binding rule ${JSON.stringify(id)} deleted successfully\n`);
  return 0;
}

async function ruleList(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, { ...FORMAT_FLAGS, method: { kind: 'string', help: 'Only show rules linked to the auth method with the given name.' } });
  const api = new ApiClient(flags);
  const method = str(flags, 'method');
  const rs = await attempt('Failed to retrieve the binding rule list', () => api.json<BindingRule[]>('/v1/acl/binding-rules', { authmethod: method === '' ? undefined : method }));
  printer(out, flags)(rs, ruleListPretty, ruleListJSON);
  return 0;
}

export const bindingRuleCommand = dispatch('acl binding-rule', {
  create: { run: ruleCreate, help: 'Create an ACL binding rule' },
  read: { run: ruleRead, help: 'Read an ACL binding rule' },
  update: { run: ruleUpdate, help: 'Update an ACL binding rule' },
  delete: { run: ruleDelete, help: 'Delete an ACL binding rule' },
  list: { run: ruleList, help: 'Lists ACL binding rules' },
});
