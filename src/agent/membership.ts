// Membership for a single agent, until gossip exists: this agent is the only member of its LAN
// (and, for a server, WAN) pool. Joining ourselves succeeds, as serf's does; joining any other
// address fails as memberlist's Join fails when the address cannot be reached, and an address
// that can be reached still fails, since this agent cannot gossip with it. Nothing is faked.

import { lookup } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import type { RuntimeConfig } from '../config/types.js';
import type { Logger } from '../util/log.js';
import { AgentError } from './local-agent.js';
import { serfLanPort, serfWanPort } from './self.js';
import { MembershipError, type MembershipLeader } from '../server/membership.js';

/** memberlist's TCP timeout for the push-pull of a join. */
const JOIN_DIAL_TIMEOUT_MS = 10_000;

function multiError(errs: string[]): string {
  const head = errs.length === 1 ? '1 error occurred:' : `${errs.length} errors occurred:`;
  return `${head}\n${errs.map((e) => `\t* ${e}`).join('\n')}\n\n`;
}

/** net.SplitHostPort, or the whole string as a host when it has no port. */
function splitHostPort(addr: string, defaultPort: number): { host: string; port: number } | { error: string } {
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

function isAnyAddr(a: string): boolean {
  return a === '0.0.0.0' || a === '::' || a === '';
}

/** Addresses that reach this agent's gossip listener. */
function selfAddresses(c: RuntimeConfig, wan: boolean): Set<string> {
  const out = new Set<string>([c.advertiseAddr, c.bindAddr]);
  if (wan && c.advertiseAddrWan) out.add(c.advertiseAddrWan);
  if (isAnyAddr(c.bindAddr)) {
    for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) out.add(i.address);
  }
  if ([...out].some((a) => a.startsWith('127.'))) out.add('127.0.0.1');
  return out;
}

function dial(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`dial tcp ${net.isIPv6(host) ? `[${host}]` : host}:${port}: i/o timeout`));
    }, JOIN_DIAL_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hp = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
      const reason = e.code === 'ECONNREFUSED' ? 'connect: connection refused' : e.code === 'EHOSTUNREACH' ? 'connect: no route to host' : e.code === 'ENETUNREACH' ? 'connect: network is unreachable' : e.message;
      reject(new Error(`dial tcp ${hp}: ${reason}`));
    });
  });
}

/** PUT /v1/agent/join/<address>: resolves when the join succeeded, rejects with memberlist's errors. */
export async function joinAddress(c: RuntimeConfig, addr: string, wan: boolean, logger: Logger): Promise<void> {
  const pool = wan ? 'WAN' : 'LAN';
  logger.info(`(${pool}) joining`, { [`${pool.toLowerCase()}_addresses`]: [addr] });
  const ownPort = wan ? serfWanPort(c) : serfLanPort(c);
  const errs: string[] = [];
  let joined = 0;
  const hp = splitHostPort(addr, ownPort);
  if ('error' in hp) {
    errs.push(`Failed to resolve ${addr}: ${hp.error}`);
  } else {
    let ips: string[] = [];
    if (net.isIP(hp.host)) ips = [hp.host];
    else if (hp.host === '') errs.push(`Failed to resolve ${addr}: lookup : no such host`);
    else {
      try {
        ips = (await lookup(hp.host, { all: true })).map((a) => a.address);
      } catch {
        errs.push(`Failed to resolve ${addr}: lookup ${hp.host}: no such host`);
      }
    }
    const self = selfAddresses(c, wan);
    for (const ip of ips) {
      const target = `${net.isIPv6(ip) ? `[${ip}]` : ip}:${hp.port}`;
      if (hp.port === ownPort && self.has(ip)) {
        joined++;
        continue;
      }
      try {
        await dial(ip, hp.port);
        errs.push(`Failed to join ${target}: remote agents cannot be joined yet: this agent does not implement gossip membership`);
      } catch (e) {
        errs.push(`Failed to join ${target}: ${(e as Error).message}`);
      }
    }
  }
  if (joined > 0) {
    logger.info(`(${pool}) joined`, { number_of_nodes: joined });
    return;
  }
  const msg = multiError(errs.length > 0 ? errs : [`Failed to join ${addr}`]);
  logger.warn(`(${pool}) couldn't join`, { number_of_nodes: 0, error: msg });
  throw new AgentError(500, msg);
}

/**
 * PUT /v1/agent/force-leave/<node>: on a server, the leader's RemoveFailedNode over the member
 * table; the WAN pool (and an agent without one) holds only this agent, which is not failed.
 */
export async function forceLeave(c: RuntimeConfig, node: string, wan: boolean, prune: boolean, leader: MembershipLeader | null): Promise<void> {
  if (!wan && leader) {
    try {
      await leader.forceLeave(node, prune);
    } catch (e) {
      if (e instanceof MembershipError) throw new AgentError(500, e.message);
      throw e;
    }
    return;
  }
  const self = wan ? [c.nodeName, `${c.nodeName}.${c.datacenter}`] : [c.nodeName];
  if (!self.includes(node)) throw new AgentError(500, `agent: No node found with name '${node}'`);
  // serf's RemoveFailedNode leaves an alive member alone.
}
