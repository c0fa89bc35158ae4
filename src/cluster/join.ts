// Joining (PUT /v1/agent/join, -join, retry_join): each address is resolved (a DNS name may name
// several agents), an address of this very agent counts as joined (serf's join of itself), and
// every other one is asked by `joinOne`. The error is Consul's multierror text.

import { lookup } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import type { RuntimeConfig } from '../config/types.js';
import type { Logger } from '../util/log.js';
import { joinHostPort } from './transport.js';

/** A join that failed everywhere: Consul's multierror text (answered as a 500). */
export class JoinError extends Error {}

export function multiError(errs: string[]): string {
  const head = errs.length === 1 ? '1 error occurred:' : `${errs.length} errors occurred:`;
  return `${head}\n${errs.map((e) => `\t* ${e}`).join('\n')}\n\n`;
}

/** net.SplitHostPort, or the whole string as a host when it has no port. */
export function splitHostPort(addr: string, defaultPort: number): { host: string; port: number } | { error: string } {
  const bracketed = /^\[([^\]]*)\](?::(\d+))?$/.exec(addr);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] !== undefined ? Number(bracketed[2]) : defaultPort };
  const colons = addr.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = addr.split(':') as [string, string];
    if (!/^\d+$/.test(port) || Number(port) > 65535) return { error: `address ${addr}: invalid port` };
    return { host, port: Number(port) };
  }
  return { host: addr, port: defaultPort };
}

/** Every host:port an address names. */
async function resolve(addr: string, defaultPort: number): Promise<{ targets: { ip: string; port: number }[] } | { error: string }> {
  const hp = splitHostPort(addr, defaultPort);
  if ('error' in hp) return { error: `Failed to resolve ${addr}: ${hp.error}` };
  if (net.isIP(hp.host)) return { targets: [{ ip: hp.host, port: hp.port }] };
  if (hp.host === '') return { error: `Failed to resolve ${addr}: lookup : no such host` };
  try {
    return { targets: (await lookup(hp.host, { all: true })).map((a) => ({ ip: a.address, port: hp.port })) };
  } catch {
    return { error: `Failed to resolve ${addr}: lookup ${hp.host}: no such host` };
  }
}

/** Addresses that reach this agent's own listener (every interface when bound to all). */
function selfAddresses(c: RuntimeConfig, wan: boolean): Set<string> {
  const out = new Set<string>([c.advertiseAddr, c.bindAddr]);
  if (wan && c.advertiseAddrWan) out.add(c.advertiseAddrWan);
  if (c.bindAddr === '0.0.0.0' || c.bindAddr === '::' || c.bindAddr === '') {
    for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) out.add(i.address);
  }
  return out;
}

export interface JoinOptions {
  config: RuntimeConfig;
  wan: boolean;
  /** The port this agent's own pool listens on (what an address without a port means). */
  ownPort: number;
  logger: Logger;
  /** Joins the agent at host:port; rejects with the reason. */
  joinOne: (target: string) => Promise<void>;
}

/** Resolves how many agents were joined; throws JoinError when none was. */
export async function joinAddresses(addrs: string[], o: JoinOptions): Promise<number> {
  const pool = o.wan ? 'WAN' : 'LAN';
  o.logger.info(`(${pool}) joining`, { [`${pool.toLowerCase()}_addresses`]: addrs });
  const self = selfAddresses(o.config, o.wan);
  const errs: string[] = [];
  let joined = 0;
  for (const addr of addrs) {
    const r = await resolve(addr, o.ownPort);
    if ('error' in r) {
      errs.push(r.error);
      continue;
    }
    for (const { ip, port } of r.targets) {
      const target = joinHostPort(ip, port);
      if (port === o.ownPort && self.has(ip)) {
        joined++;
        continue;
      }
      try {
        await o.joinOne(target);
        joined++;
      } catch (e) {
        errs.push(`Failed to join ${target}: ${(e as Error).message.replace(/^rpc error making call: /, '')}`);
      }
    }
  }
  if (joined > 0) {
    o.logger.info(`(${pool}) joined`, { number_of_nodes: joined });
    return joined;
  }
  const msg = multiError(errs.length > 0 ? errs : [`Failed to join ${addrs.join(', ')}`]);
  o.logger.warn(`(${pool}) couldn't join`, { number_of_nodes: 0, error: msg });
  throw new JoinError(msg);
}
