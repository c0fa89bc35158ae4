// `tribune keyring -list|-install|-use|-remove`, printing what Consul's keyring command prints;
// the agent always refuses (no gossip, so no keyring), and the refusal is shown as Consul shows it.

import { ApiClient, HTTP_FLAGS } from './api-client.js';
import { type FlagDef, parseCommandFlags, UsageError } from './flags.js';
import type { Output } from './output.js';

const FLAGS: Record<string, FlagDef> = {
  ...HTTP_FLAGS,
  list: { kind: 'bool', help: 'List all keys currently in use within the cluster.' },
  install: { kind: 'string', help: 'Install a new encryption key. This will broadcast the new key to all members in the cluster.' },
  use: { kind: 'string', help: 'Change the primary encryption key, which is used to encrypt messages.' },
  remove: { kind: 'string', help: 'Remove the given key from the cluster.' },
  'relay-factor': { kind: 'int', help: 'Setting this to a non-zero value will cause nodes to relay their response to the operation through this many randomly-chosen other nodes.' },
  'local-only': { kind: 'bool', help: 'Setting this to true will force the keyring query to only hit local servers (no WAN traffic).' },
};

export async function keyringCommand(argv: string[], out: Output): Promise<number> {
  const { flags } = parseCommandFlags(argv, FLAGS);
  const ops = (['list', 'install', 'use', 'remove'] as const).filter((k) => flags[k] !== undefined && flags[k] !== false);
  if (ops.length !== 1) throw new UsageError('Exactly one of -list, -install, -use, or -remove must be provided');
  const relay = typeof flags['relay-factor'] === 'number' ? flags['relay-factor'] : 0;
  if (relay < 0 || relay > 5) throw new UsageError('Error parsing relay factor: Relay factor must be in range: [0, 5]');
  const api = new ApiClient(flags);
  const query = { ...(relay ? { 'relay-factor': relay } : {}), ...(flags['local-only'] === true ? { 'local-only': 'true' } : {}) };
  const op = ops[0]!;
  const info = { list: 'Gathering installed encryption keys...', install: 'Installing new gossip encryption key...', use: 'Changing primary gossip encryption key...', remove: 'Removing gossip encryption key...' }[op];
  out.stdout(`==> ${info}\n`);
  const method = { list: 'GET', install: 'POST', use: 'PUT', remove: 'DELETE' }[op];
  const body = op === 'list' ? undefined : JSON.stringify({ Key: flags[op] });
  const r = await api.call(method, '/v1/operator/keyring', query, body);
  if (r.status < 200 || r.status > 299) {
    out.stderr(`error: Unexpected response code: ${r.status} (${r.text})\n`);
    return 1;
  }
  return 0;
}
