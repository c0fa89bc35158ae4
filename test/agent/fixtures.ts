// Shared helpers for the agent tests: an in-process agent with short agent-local timings, catalog
// reads through the server's state store, and real HTTP/TCP servers to point checks at.

import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Agent } from '../../src/agent/agent.js';
import type { LocalAgentOptions } from '../../src/agent/local-agent.js';
import type { RuntimeConfig } from '../../src/config/types.js';
import type { HealthCheck, NodeService } from '../../src/state/catalog-types.js';
import { silentLogger } from '../../src/util/log.js';
import { testConfig } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

export interface LocalTestAgent {
  agent: Agent;
  base: string;
  api: ReturnType<typeof client>;
  stop(): Promise<void>;
}

export const FAST: LocalAgentOptions = {
  aeIntervalMs: 60_000,
  checkReapIntervalMs: 50,
  checkDeregisterIntervalMinMs: 0,
  checkUpdateIntervalMs: 0,
};

export async function startLocal(overrides: Partial<RuntimeConfig> = {}, local: LocalAgentOptions = FAST): Promise<LocalTestAgent> {
  const agent = new Agent({ config: testConfig(overrides), logger: silentLogger, local });
  try {
    await agent.start();
  } catch (e) {
    await agent.stop();
    throw e;
  }
  const addr = agent.httpAddrs[0]!;
  const base = `http://127.0.0.1:${addr.slice(addr.lastIndexOf(':') + 1)}`;
  return { agent, base, api: client(base), stop: () => agent.stop() };
}

/** The catalog's entries for one node, straight from the state store. */
export function catalogNode(a: Agent, node = a.config.nodeName): { services: NodeService[]; checks: HealthCheck[] } {
  const cat = a.server.store.catalog;
  const services: NodeService[] = [];
  const checks: HealthCheck[] = [];
  cat.forNodeServices(node, (s) => services.push(s.svc));
  cat.forNodeChecks(node, (c) => checks.push(c));
  return { services, checks };
}

export function catalogService(a: Agent, id: string): NodeService | undefined {
  return a.server.store.catalog.service(a.config.nodeName, id);
}

export function catalogCheck(a: Agent, id: string): HealthCheck | undefined {
  return a.server.store.catalog.check(a.config.nodeName, id);
}

export async function waitFor<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An HTTP server whose status code the test controls. */
export async function statusServer(initial = 200): Promise<{ url: string; set(code: number): void; hits(): number; close(): Promise<void> }> {
  let code = initial;
  let hits = 0;
  const srv = http.createServer((_req, res) => {
    hits++;
    res.writeHead(code, { 'Content-Type': 'text/plain' });
    res.end(`status ${code}`);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/health`,
    set: (c) => (code = c),
    hits: () => hits,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** A TCP listener that can be closed and reopened on the same port. */
export async function tcpServer(): Promise<{ addr: string; port: number; close(): Promise<void>; reopen(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let srv = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const close = (): Promise<void> =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      srv.close(() => r());
    });
  return {
    addr: `127.0.0.1:${port}`,
    port,
    close,
    reopen: async () => {
      srv = net.createServer((s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
    },
  };
}

/** A port nothing listens on. */
export async function deadPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
