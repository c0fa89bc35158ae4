// `tribune services register|deregister`: a service from flags or from a definition file
// (JSON or HCL with `service` / `services` blocks), through the local agent.

import fs from 'node:fs';
import { parseHCL } from '../config/index.js';
import { isPlainObject } from '../util/json.js';
import { ApiClient, HTTP_FLAGS } from './api-client.js';
import { parseCommandFlags, UsageError } from './flags.js';
import type { Output } from './output.js';

/** The service definitions in a file: `service { … }` (one or many) and `services [ … ]`. */
function definitionsIn(file: string): Record<string, unknown>[] {
  const text = fs.readFileSync(file, 'utf8');
  const data = file.endsWith('.json') ? (JSON.parse(text) as unknown) : parseHCL(text, file);
  if (!isPlainObject(data)) throw new UsageError(`Error: ${file} does not hold an object`);
  const out: Record<string, unknown>[] = [];
  for (const key of ['service', 'services']) {
    const v = data[key];
    for (const d of Array.isArray(v) ? v : v === undefined ? [] : [v]) if (isPlainObject(d)) out.push(d);
  }
  if (out.length === 0) throw new UsageError(`Error: no service definitions in ${file}`);
  return out;
}

const nameOf = (d: Record<string, unknown>, key: 'id' | 'name'): string => {
  for (const [k, v] of Object.entries(d)) if (k.toLowerCase() === key && typeof v === 'string') return v;
  return '';
};

export async function servicesCommand(argv: string[], out: Output): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'register') {
    const { flags, args } = parseCommandFlags(rest, {
      ...HTTP_FLAGS,
      name: { kind: 'string', help: 'Name of the service (when no file is given).' },
      id: { kind: 'string', help: 'ID of the service; defaults to the name.' },
      address: { kind: 'string', help: 'Address of the service.' },
      port: { kind: 'int', help: 'Port of the service.' },
      tag: { kind: 'list', help: 'A tag (repeatable).' },
      meta: { kind: 'list', help: 'Meta as key=value (repeatable).' },
    });
    let defs: Record<string, unknown>[];
    if (args.length > 0) defs = args.flatMap((f) => definitionsIn(f));
    else {
      if (!flags.name) throw new UsageError('Service name must be specified with -name or a definition file.');
      const meta = Object.fromEntries(((flags.meta as string[] | undefined) ?? []).map((m) => [m.slice(0, m.indexOf('=')), m.slice(m.indexOf('=') + 1)]));
      defs = [{ Name: flags.name, ID: flags.id, Address: flags.address, Port: flags.port, Tags: flags.tag, Meta: Object.keys(meta).length ? meta : undefined }];
    }
    const api = new ApiClient(flags);
    for (const d of defs) {
      const r = await api.call('PUT', '/v1/agent/service/register', {}, JSON.stringify(d));
      if (r.status !== 200) {
        out.stderr(`Error registering service "${nameOf(d, 'name')}": Unexpected response code: ${r.status} (${r.text})\n`);
        return 1;
      }
      out.stdout(`Registered service: ${nameOf(d, 'name')}\n`);
    }
    return 0;
  }
  if (sub === 'deregister') {
    const { flags, args } = parseCommandFlags(rest, { ...HTTP_FLAGS, id: { kind: 'string', help: 'ID of the service to deregister.' } });
    const ids = flags.id ? [flags.id as string] : args.flatMap((f) => definitionsIn(f)).map((d) => nameOf(d, 'id') || nameOf(d, 'name'));
    if (ids.length === 0) throw new UsageError('Either a service ID (-id) or a definition file must be given.');
    const api = new ApiClient(flags);
    for (const id of ids) {
      const r = await api.call('PUT', `/v1/agent/service/deregister/${encodeURIComponent(id)}`);
      if (r.status !== 200) {
        out.stderr(`Error deregistering service "${id}": Unexpected response code: ${r.status} (${r.text})\n`);
        return 1;
      }
      out.stdout(`Deregistered service: ${id}\n`);
    }
    return 0;
  }
  out.stderr('Usage: tribune services <subcommand> [options]\n\nSubcommands:\n    deregister    Deregister services from the local agent\n    register      Register services with the local agent\n');
  return 1;
}
