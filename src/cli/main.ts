// The `tribune` command: Consul's verbs and flags. `agent` takes Consul's single-dash flags, so
// its arguments go to the config loader untouched; the other commands use commander.

import { Command } from 'commander';
import { runAgent } from './agent.js';

export const VERSION = '0.1.0';

export async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'agent') {
    const code = await runAgent(argv.slice(1));
    process.exit(code);
  }
  const program = new Command('tribune')
    .description('Tribune: a Consul-compatible service catalog, health checker, DNS server and KV store')
    .version(`Tribune v${VERSION}`, '-v, --version');
  program.command('agent').description('Runs a Tribune agent (flags as `consul agent`)');
  program
    .command('version')
    .description('Prints the Tribune version')
    .action(() => {
      process.stdout.write(`Tribune v${VERSION}\nProtocol 2 spoken by default, understands 2 to 3 (agent will automatically use protocol >2 when speaking to compatible agents)\n`);
    });
  await program.parseAsync(argv, { from: 'user' });
}
