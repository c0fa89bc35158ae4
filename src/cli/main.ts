// The `tribune` command: Consul's verbs and flags. Every verb takes Go-style single-dash flags
// (`tribune kv get -recurse app`), so verbs parse their own arguments; commander lists them.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Command } from 'commander';
import { aclCommand } from './acl.js';
import { runAgent } from './agent.js';
import { eventCommand, forceLeaveCommand, infoCommand, joinCommand, leaveCommand, maintCommand, membersCommand, monitorCommand, reloadCommand } from './agent-commands.js';
import { ApiError } from './api-client.js';
import { catalogCommand } from './catalog.js';
import { HelpRequested, UsageError } from './flags.js';
import { keyringCommand } from './keyring.js';
import { kvCommand } from './kv.js';
import { lockCommand } from './lock.js';
import { loginCommand, logoutCommand } from './login.js';
import { type Output, processOutput } from './output.js';
import { operatorCommand } from './operator.js';
import { rttCommand } from './rtt.js';
import { servicesCommand } from './services.js';
import { snapshotCommand } from './snapshot.js';
import { validateCommand } from './validate.js';
import { watchCommand } from './watch.js';

export const VERSION = '0.1.0';

type Verb = (argv: string[], out: Output, stdin: () => Buffer) => Promise<number>;

const VERBS: Record<string, { run: Verb; help: string }> = {
  acl: { run: aclCommand, help: 'Interact with Consul\'s ACLs (bootstrap, tokens, policies, roles, auth methods, binding rules)' },
  catalog: { run: catalogCommand, help: 'Interact with the catalog (datacenters, nodes, services)' },
  event: { run: eventCommand, help: 'Fire a new event' },
  'force-leave': { run: forceLeaveCommand, help: 'Forces a member of the cluster to enter the "left" state' },
  info: { run: infoCommand, help: 'Provides debugging information for operators' },
  join: { run: joinCommand, help: 'Tell the agent to join a cluster' },
  keyring: { run: keyringCommand, help: 'Manages gossip layer encryption keys' },
  kv: { run: kvCommand, help: 'Interact with the key-value store (get, put, delete, export, import)' },
  leave: { run: leaveCommand, help: 'Gracefully leaves the cluster and shuts down' },
  lock: { run: lockCommand, help: 'Execute a command holding a lock' },
  login: { run: loginCommand, help: 'Login to Consul using an auth method' },
  logout: { run: logoutCommand, help: 'Destroy a Consul token created with login' },
  maint: { run: maintCommand, help: 'Controls node or service maintenance mode' },
  members: { run: membersCommand, help: 'Lists the members of the cluster' },
  monitor: { run: monitorCommand, help: 'Stream logs from a Tribune agent' },
  operator: { run: operatorCommand, help: 'Provides cluster-level tools for operators (raft list-peers, autopilot)' },
  reload: { run: reloadCommand, help: 'Triggers the agent to reload configuration files' },
  rtt: { run: rttCommand, help: 'Estimates network round trip time between nodes' },
  services: { run: servicesCommand, help: 'Interact with services (register, deregister)' },
  snapshot: { run: snapshotCommand, help: 'Saves or restores a snapshot of the server state' },
  validate: { run: validateCommand, help: 'Validate config files/directories' },
  watch: { run: watchCommand, help: 'Watch for changes in Consul' },
};

/** Runs one verb; returns its exit code. Usage and API errors print as Consul prints them. */
export async function runVerb(argv: string[], out: Output = processOutput, stdin: () => Buffer = () => fs.readFileSync(0)): Promise<number | null> {
  const [verb, ...rest] = argv;
  const v = verb === undefined ? undefined : VERBS[verb];
  if (!v) return null;
  try {
    return await v.run(rest, out, stdin);
  } catch (e) {
    if (e instanceof HelpRequested) {
      out.stdout(`${e.message}\n`);
      return 0;
    }
    if (e instanceof UsageError || e instanceof ApiError) {
      out.stderr(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

export async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'agent') process.exit(await runAgent(argv.slice(1)));
  const code = await runVerb(argv);
  if (code !== null) process.exit(code);
  const program = new Command('tribune')
    .description('Tribune: a Consul-compatible service catalog, health checker, DNS server and KV store')
    .version(`Tribune v${VERSION}`, '-v, --version');
  program.command('agent').description('Runs a Tribune agent (flags as `consul agent`)');
  for (const [name, v] of Object.entries(VERBS)) program.command(name).description(v.help);
  program
    .command('keygen')
    .description('Generates a new encryption key (the base64 value for encrypt)')
    .action(() => {
      process.stdout.write(`${randomBytes(32).toString('base64')}\n`);
    });
  program
    .command('version')
    .description('Prints the Tribune version')
    .action(() => {
      process.stdout.write(`Tribune v${VERSION}\nProtocol 2 spoken by default, understands 2 to 3 (agent will automatically use protocol >2 when speaking to compatible agents)\n`);
    });
  await program.parseAsync(argv, { from: 'user' });
}
