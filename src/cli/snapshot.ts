// `tribune snapshot save FILE` and `tribune snapshot restore FILE` over /v1/snapshot.

import fs from 'node:fs';
import { ApiClient, HTTP_FLAGS } from './api-client.js';
import { parseCommandFlags, UsageError } from './flags.js';
import type { Output } from './output.js';

export async function snapshotCommand(argv: string[], out: Output): Promise<number> {
  const [sub, ...rest] = argv;
  const { flags, args } = parseCommandFlags(rest, HTTP_FLAGS);
  if (sub !== 'save' && sub !== 'restore') {
    out.stderr('Usage: tribune snapshot <subcommand> [options] FILE\n\nSubcommands:\n    restore    Restores snapshot of Tribune server state\n    save       Saves snapshot of Tribune server state\n');
    return 1;
  }
  if (args.length !== 1) throw new UsageError('Missing FILE argument');
  const file = args[0] ?? '';
  const api = new ApiClient(flags);
  if (sub === 'save') {
    const r = await api.call('GET', '/v1/snapshot');
    if (r.status !== 200) {
      out.stderr(`Error saving snapshot: Unexpected response code: ${r.status} (${r.text})\n`);
      return 1;
    }
    // Written beside the target first, so a failed save never leaves half a file behind.
    fs.writeFileSync(`${file}.tmp`, r.body);
    fs.renameSync(`${file}.tmp`, file);
    out.stdout(`Saved and verified snapshot to index ${String(r.headers['x-consul-index'] ?? '')}\n`);
    return 0;
  }
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    out.stderr(`Error opening snapshot file: ${(e as Error).message}\n`);
    return 1;
  }
  const r = await api.call('PUT', '/v1/snapshot', {}, data);
  if (r.status !== 200) {
    out.stderr(`Error restoring snapshot: Unexpected response code: ${r.status} (${r.text})\n`);
    return 1;
  }
  out.stdout('Restored snapshot\n');
  return 0;
}
