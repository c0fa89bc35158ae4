// `tribune login` and `tribune logout`, as Consul 1.10's: exchange a bearer token with an auth
// method for an ACL token written to a sink file, and destroy the token the request carries.

import fs from 'node:fs';
import path from 'node:path';
import { ApiClient, HTTP_FLAGS } from './api-client.js';
import { attempt, fail, list, str } from './acl-common.js';
import { parseCommandFlags } from './flags.js';
import type { Output } from './output.js';

/** key=value pairs of a repeated -meta flag (Consul's FlagMapValue). */
function metaMap(pairs: string[]): Record<string, string> {
  const m: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i < 0) throw fail(`invalid value ${JSON.stringify(p)} for flag -meta: Missing = in argument: ${p}`);
    m[p.slice(0, i)] = p.slice(i + 1);
  }
  return m;
}

/** Written to a temporary file then renamed, mode 0600, so a reader never sees half a token. */
function writeAtomic(file: string, data: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export async function loginCommand(argv: string[], out: Output): Promise<number> {
  void out;
  const { flags, args } = parseCommandFlags(argv, {
    ...HTTP_FLAGS,
    method: { kind: 'string', help: 'Name of the auth method to login to.' },
    'bearer-token-file': { kind: 'string', help: 'Path to a file containing a secret bearer token to use with this auth method.' },
    'token-sink-file': { kind: 'string', help: "The most recent token's SecretID is kept up to date in this file." },
    meta: { kind: 'list', help: 'Metadata to set on the token, formatted as key=value. This flag may be specified multiple times to set multiple meta fields.' },
  });
  const meta = metaMap(list(flags, 'meta'));
  if (args.length > 0) throw fail('Should have no non-flag arguments.');
  if (str(flags, 'method') === '') throw fail("Missing required '-method' flag");
  if (str(flags, 'token-sink-file') === '') throw fail("Missing required '-token-sink-file' flag");
  const file = str(flags, 'bearer-token-file');
  if (file === '') throw fail("Missing required '-bearer-token-file' flag");
  let bearer: string;
  try {
    bearer = fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw fail((e as Error).message);
  }
  if (bearer === '') throw fail(`No bearer token found in ${file}`);
  // A login never carries a token of its own.
  const api = new ApiClient({ ...flags, token: '', 'token-file': '' }, { ...process.env, CONSUL_HTTP_TOKEN: '', CONSUL_HTTP_TOKEN_FILE: '' });
  const body = { AuthMethod: str(flags, 'method'), BearerToken: bearer, ...(Object.keys(meta).length > 0 ? { Meta: meta } : {}) };
  const tok = await attempt('Error logging in', async () => JSON.parse((await api.ok('POST', '/v1/acl/login', {}, JSON.stringify(body))).text) as { SecretID: string });
  try {
    writeAtomic(str(flags, 'token-sink-file'), tok.SecretID);
  } catch (e) {
    throw fail(`Error writing token to file sink: ${(e as Error).message}`);
  }
  return 0;
}

export async function logoutCommand(argv: string[], out: Output): Promise<number> {
  void out;
  const { flags, args } = parseCommandFlags(argv, HTTP_FLAGS);
  if (args.length > 0) throw fail('Should have no non-flag arguments.');
  const api = new ApiClient(flags);
  await attempt('Error destroying token', () => api.ok('POST', '/v1/acl/logout'));
  return 0;
}
