// `tribune agent` flags, with Consul's single-dash syntax (`-dev`, `-data-dir=/x`, `-node web`);
// double dashes work too. Each flag maps onto a configuration key, applied after every file.

import { type FlagDef, FlagError, FlagHelpRequested, flagsHelp, scanFlags } from '../util/go-flags.js';
import { ConfigError } from './build.js';

interface FlagSpec extends FlagDef {
  /** Sets the flag's value into the flags source (as config keys). */
  set?: (data: Record<string, unknown>, v: string) => void;
}

const append = (d: Record<string, unknown>, key: string, v: string): void => {
  d[key] = [...((d[key] as string[] | undefined) ?? []), v];
};

const nest = (outer: string, inner: string) => (d: Record<string, unknown>, v: unknown) => {
  const o = (d[outer] as Record<string, unknown> | undefined) ?? {};
  o[inner] = v;
  d[outer] = o;
};

export const FLAGS: Record<string, FlagSpec> = {
  dev: { kind: 'bool', help: 'Starts the agent in development mode: an in-memory server on 127.0.0.1.' },
  server: { kind: 'bool', help: 'Switches the agent to server mode.', set: (d) => (d.server = true) },
  bootstrap: { kind: 'bool', help: 'Sets server to bootstrap mode.', set: (d) => (d.bootstrap = true) },
  'bootstrap-expect': { kind: 'int', help: 'Sets server to expect bootstrap mode.', set: (d, v) => (d.bootstrap_expect = Number(v)) },
  'data-dir': { kind: 'string', help: 'Path to a data directory to store agent state.', set: (d, v) => (d.data_dir = v) },
  node: { kind: 'string', help: 'Name of this node. Must be unique in the cluster.', set: (d, v) => (d.node_name = v) },
  'node-id': { kind: 'string', help: 'A unique ID for this node across space and time.', set: (d, v) => (d.node_id = v) },
  'node-meta': {
    kind: 'list',
    help: 'An arbitrary metadata key/value pair for this node, of the format `key:value`. Can be specified multiple times.',
    set: (d, v) => {
      const at = v.indexOf(':');
      const meta = (d.node_meta as Record<string, string> | undefined) ?? {};
      if (at === -1) meta[v] = '';
      else meta[v.slice(0, at)] = v.slice(at + 1);
      d.node_meta = meta;
    },
  },
  encrypt: { kind: 'string', help: 'Provides the gossip encryption key.', set: (d, v) => (d.encrypt = v) },
  datacenter: { kind: 'string', help: 'Datacenter of the agent.', set: (d, v) => (d.datacenter = v) },
  client: { kind: 'string', help: 'Sets the address to bind for client access (HTTP, DNS).', set: (d, v) => (d.client_addr = v) },
  bind: { kind: 'string', help: 'Sets the bind address for cluster communication.', set: (d, v) => (d.bind_addr = v) },
  advertise: { kind: 'string', help: 'Sets the advertise address to use.', set: (d, v) => (d.advertise_addr = v) },
  'advertise-wan': { kind: 'string', help: 'Sets address to advertise on WAN instead of -advertise address.', set: (d, v) => (d.advertise_addr_wan = v) },
  'http-port': { kind: 'int', help: 'Sets the HTTP API port to listen on (-1 disables it; 0 picks a free port).', set: (d, v) => nest('ports', 'http')(d, Number(v)) },
  'dns-port': { kind: 'int', help: 'DNS port to use (-1 disables it).', set: (d, v) => nest('ports', 'dns')(d, Number(v)) },
  'config-file': { kind: 'list', help: 'Path to a file in JSON or HCL format. Can be specified multiple times.' },
  'config-dir': { kind: 'list', help: 'Path to a directory of *.json and *.hcl config files, read in lexical order. Can be specified multiple times.' },
  'config-format': { kind: 'string', help: 'Config files are in this format irrespective of their extension (json or hcl).' },
  hcl: { kind: 'list', help: 'hcl config fragment. Can be specified multiple times.' },
  'log-level': { kind: 'string', help: 'Log level of the agent (trace, debug, info, warn, err).', set: (d, v) => (d.log_level = v) },
  'pid-file': { kind: 'string', help: 'Path to file to store agent PID.', set: (d, v) => (d.pid_file = v) },
  ui: { kind: 'bool', help: 'Enables the built-in static web UI server.', set: (d) => (d.ui = true) },
  'ui-dir': { kind: 'string', help: 'Path to directory containing the web UI resources.', set: (d, v) => nest('ui_config', 'dir')(d, v) },
  'ui-content-path': { kind: 'string', help: 'Sets the external UI path to a string. Defaults to: /ui/', set: (d, v) => nest('ui_config', 'content_path')(d, v) },
  domain: { kind: 'string', help: 'Domain to use for DNS interface.', set: (d, v) => (d.domain = v) },
  'enable-script-checks': { kind: 'bool', help: 'Enables health check scripts.', set: (d) => (d.enable_script_checks = true) },
  'enable-local-script-checks': { kind: 'bool', help: 'Enables health check scripts from configuration file.', set: (d) => (d.enable_local_script_checks = true) },
  recursor: {
    kind: 'list',
    help: 'Address of an upstream DNS server. Can be specified multiple times.',
    set: (d, v) => (d.recursors = [...((d.recursors as string[] | undefined) ?? []), v]),
  },
  join: { kind: 'list', help: 'Address of an agent to join at start time. Can be specified multiple times.', set: (d, v) => append(d, 'start_join', v) },
  'retry-join': { kind: 'list', help: 'Address of an agent to join at start time with retries enabled. Can be specified multiple times.', set: (d, v) => append(d, 'retry_join', v) },
  'retry-interval': { kind: 'string', help: 'Time to wait between join attempts.', set: (d, v) => (d.retry_interval = v) },
  'retry-max': { kind: 'int', help: 'Maximum number of join attempts. Defaults to 0, which will retry indefinitely.', set: (d, v) => (d.retry_max = Number(v)) },
  'join-wan': { kind: 'list', help: 'Address of an agent to join -wan at start time. Can be specified multiple times.', set: (d, v) => append(d, 'start_join_wan', v) },
  'retry-join-wan': { kind: 'list', help: 'Address of an agent to join -wan at start time with retries enabled. Can be specified multiple times.', set: (d, v) => append(d, 'retry_join_wan', v) },
  'retry-interval-wan': { kind: 'string', help: 'Time to wait between join -wan attempts.', set: (d, v) => (d.retry_interval_wan = v) },
  'retry-max-wan': { kind: 'int', help: 'Maximum number of join -wan attempts. Defaults to 0, which will retry indefinitely.', set: (d, v) => (d.retry_max_wan = Number(v)) },
  'server-port': { kind: 'int', help: 'Sets the server port to listen on.', set: (d, v) => nest('ports', 'server')(d, Number(v)) },
  'serf-lan-port': { kind: 'int', help: 'Sets the Serf LAN port to listen on.', set: (d, v) => nest('ports', 'serf_lan')(d, Number(v)) },
  'serf-wan-port': { kind: 'int', help: 'Sets the Serf WAN port to listen on.', set: (d, v) => nest('ports', 'serf_wan')(d, Number(v)) },
  'etcd-endpoints': {
    kind: 'string',
    help: 'Comma-separated etcd client URLs: the servers share this etcd cluster as their replicated log.',
    set: (d, v) => {
      const storage = (d.storage as Record<string, object> | undefined) ?? {};
      storage.etcd = { ...storage.etcd, endpoints: v };
      d.storage = storage;
    },
  },
};

export interface ParsedFlags {
  dev: boolean;
  /** Config sources in command-line order: files and directories as they appeared. */
  configPaths: { kind: 'file' | 'dir'; path: string }[];
  configFormat: 'json' | 'hcl' | null;
  hcl: string[];
  /** What the remaining flags set, as config keys. */
  data: Record<string, unknown>;
}

export function parseFlags(argv: string[]): ParsedFlags {
  const out: ParsedFlags = { dev: false, configPaths: [], configFormat: null, hcl: [], data: {} };
  let scanned: ReturnType<typeof scanFlags>;
  try {
    scanned = scanFlags(argv, FLAGS);
  } catch (e) {
    if (e instanceof FlagError || e instanceof FlagHelpRequested) throw new ConfigError(e instanceof FlagError ? e.message : 'flag: help requested');
    throw e;
  }
  const extra = scanned.args[0];
  if (extra !== undefined) throw new ConfigError(`unexpected argument ${JSON.stringify(extra)}`);
  for (const { name, value: v } of scanned.uses) {
    switch (name) {
      case 'dev':
        out.dev = v === 'true';
        break;
      case 'config-file':
        out.configPaths.push({ kind: 'file', path: v });
        break;
      case 'config-dir':
        out.configPaths.push({ kind: 'dir', path: v });
        break;
      case 'config-format':
        if (v !== 'json' && v !== 'hcl') throw new ConfigError(`-config-format must be json or hcl, not ${JSON.stringify(v)}`);
        out.configFormat = v;
        break;
      case 'hcl':
        out.hcl.push(v);
        break;
      default:
        // A boolean flag given as false sets nothing: Consul's defaults stand.
        if (FLAGS[name]!.kind !== 'bool' || v === 'true') FLAGS[name]!.set!(out.data, v);
    }
  }
  return out;
}

export function agentUsage(): string {
  return ['Usage: tribune agent [options]', '', '  Starts the Tribune agent and runs until an interrupt is received.', '', flagsHelp(FLAGS)].join('\n');
}
