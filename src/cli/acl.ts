// `tribune acl …`: Consul 1.10's acl command tree, plus bootstrap, set-agent-token and
// translate-rules (the legacy rule syntax is translated here, as Consul's CLI does it locally).

import { translateLegacyRules } from '../acl/translate.js';
import { ApiClient, HTTP_FLAGS } from './api-client.js';
import { attempt, dispatch, fail, FORMAT_FLAGS, legacyTokenRules, loadData, printer, put } from './acl-common.js';
import { authMethodCommand, bindingRuleCommand } from './acl-auth.js';
import { type Token, tokenJSON, tokenPretty } from './acl-format.js';
import { policyCommand } from './acl-policy.js';
import { roleCommand } from './acl-role.js';
import { tokenCommand } from './acl-token.js';
import { parseCommandFlags } from './flags.js';
import type { Output } from './output.js';

async function bootstrap(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, { ...HTTP_FLAGS, format: FORMAT_FLAGS.format! });
  const api = new ApiClient(flags);
  const t = await attempt('Failed ACL bootstrapping', () => put<Token>(api, '/v1/acl/bootstrap', {}));
  printer(out, flags)(t, tokenPretty, tokenJSON);
  return 0;
}

/** The agent token types `set-agent-token` takes, and their /v1/agent/token/ paths. */
const AGENT_TOKENS: Record<string, string> = { default: 'default', agent: 'agent', master: 'agent_master', agent_master: 'agent_master', replication: 'replication' };

async function setAgentToken(argv: string[], out: Output, stdin: () => Buffer): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, HTTP_FLAGS);
  if (args.length === 0) throw fail('Error! Missing TYPE and TOKEN arguments');
  if (args.length === 1) throw fail(AGENT_TOKENS[args[0] ?? ''] ? 'Error! Missing TOKEN argument' : 'Error! MISSING TYPE argument');
  if (args.length > 2) throw fail(`Error! Too many arguments: expected 2 got ${args.length}`);
  const [type = '', raw = ''] = args;
  let token: string;
  try {
    token = loadData(raw, stdin);
  } catch (e) {
    throw fail(`Error! ${(e as Error).message}`);
  }
  const path = AGENT_TOKENS[type];
  if (!path) throw fail('Unknown token type');
  const api = new ApiClient(flags);
  await attempt(`Failed to set ACL token ${JSON.stringify(type)}`, () => api.ok('PUT', `/v1/agent/token/${path}`, {}, JSON.stringify({ Token: token })));
  out.stdout(`ACL token ${JSON.stringify(type)} set successfully\n`);
  return 0;
}

async function translateRules(argv: string[], out: Output, stdin: () => Buffer): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, {
    ...HTTP_FLAGS,
    'token-secret': { kind: 'bool', help: 'Specifies that the TRANSLATE argument refers to an ACL token SecretID. The rules to translate will then be read from the retrieved token.' },
    'token-accessor': { kind: 'bool', help: 'Specifies that the TRANSLATE argument refers to an ACL token AccessorID. The rules to translate will then be read from the retrieved token.' },
  });
  if (args.length === 0) throw fail('Error! Missing TRANSLATE argument');
  if (args.length > 1) throw fail(`Error! Too many arguments: expected 1 got ${args.length}`);
  let data: string;
  try {
    data = loadData(args[0] ?? '', stdin);
  } catch (e) {
    throw fail(`Error! ${(e as Error).message}`);
  }
  const secret = flags['token-secret'] === true;
  if (secret || flags['token-accessor'] === true) {
    const api = new ApiClient(flags);
    try {
      data = await legacyTokenRules(api, data.trim(), secret);
    } catch (e) {
      throw fail((e as Error).message);
    }
  }
  let translated: string;
  try {
    translated = translateLegacyRules(data);
  } catch (e) {
    throw fail(`Error translating rules: ${(e as Error).message}`);
  }
  out.stdout(`${translated}\n`);
  return 0;
}

export const aclCommand = dispatch('acl', {
  bootstrap: { run: bootstrap, help: "Bootstrap Consul's ACL system" },
  policy: { run: policyCommand, help: 'Manage Consul\'s ACL policies' },
  role: { run: roleCommand, help: "Manage Consul's ACL roles" },
  token: { run: tokenCommand, help: "Manage Consul's ACL tokens" },
  'auth-method': { run: authMethodCommand, help: "Manage Consul's ACL auth methods" },
  'binding-rule': { run: bindingRuleCommand, help: "Manage Consul's ACL binding rules" },
  'set-agent-token': { run: setAgentToken, help: "Assign tokens for the Consul Agent's usage" },
  'translate-rules': { run: translateRules, help: 'Translate the legacy rule syntax into the current syntax' },
});
