// Starts agents for tests: in-process (fast) or as a child process (for signals and kill -9).
// Every agent binds 127.0.0.1 on an ephemeral port and is stopped by the test that started it.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from '../../src/agent/agent.js';
import { defaults } from '../../src/config/build.js';
import type { RuntimeConfig } from '../../src/config/types.js';
import type { ServerOptions } from '../../src/server/server.js';
import { silentLogger } from '../../src/util/log.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.join(ROOT, 'bin', 'tribune');

/** Flags that keep a spawned agent off the agent channel's fixed ports (8300, 8301): tests run side by side. */
export const NO_CLUSTER_PORTS = ['-server-port', '-1', '-serf-lan-port', '-1', '-serf-wan-port', '-1'];

let etcdPrefixes = 0;

/**
 * TRIBUNE_TEST_ETCD=<client URLs, comma-separated> runs test agents on the etcd log instead of
 * the embedded one, each under a fresh prefix (one per data dir): the same suites, on the other backend.
 */
function testStorage(dataDir: string | null | undefined): Pick<RuntimeConfig, 'storage'> | null {
  const endpoints = process.env.TRIBUNE_TEST_ETCD;
  if (!endpoints) return null;
  // An agent restarted on the same data dir finds its log again.
  const prefix = dataDir ? `test-dir${dataDir.replace(/[^A-Za-z0-9]+/g, '-')}` : `test-${process.pid}-${Date.now()}-${++etcdPrefixes}`;
  return { storage: { etcd: { endpoints: endpoints.split(','), prefix, dialTimeoutMs: 5000, requestTimeoutMs: 5000, tls: null } } };
}

export function testConfig(overrides: Partial<RuntimeConfig> = {}): RuntimeConfig {
  // Consul's defaults, then what every test agent needs: an in-memory bootstrapped server on
  // 127.0.0.1, HTTP on an ephemeral port, no DNS, quiet logs.
  return {
    ...defaults(),
    primaryDatacenter: 'dc1',
    nodeName: 'test-node',
    devMode: true,
    server: true,
    bootstrap: true,
    bindAddr: '127.0.0.1',
    advertiseAddr: '127.0.0.1',
    advertiseAddrWan: '127.0.0.1',
    // No agent channel unless a test asks for one: tests run side by side on one machine.
    ports: { http: 0, https: -1, dns: -1, serfLan: -1, serfWan: -1, server: -1, grpc: -1 },
    logLevel: 'ERR',
    ...testStorage(overrides.dataDir),
    ...overrides,
  };
}

export interface TestAgent {
  agent: Agent;
  base: string;
  port: number;
  stop(): Promise<void>;
}

export async function startAgent(overrides: Partial<RuntimeConfig> = {}, server: Partial<Omit<ServerOptions, 'config' | 'logger'>> = {}): Promise<TestAgent> {
  const agent = new Agent({ config: testConfig(overrides), logger: silentLogger, server });
  await agent.start();
  const addr = agent.httpAddrs[0]!;
  const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
  return { agent, base: `http://127.0.0.1:${port}`, port, stop: () => agent.stop() };
}

export function tempDir(prefix = 'tribune-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface ChildAgent {
  proc: ChildProcess;
  base: string;
  port: number;
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Runs `bin/tribune agent <args>` and resolves once its HTTP API listens. */
export function spawnAgent(args: string[], timeoutMs = 15_000, opts: { clusterPorts?: boolean } = {}): Promise<ChildAgent> {
  const proc = spawn(process.execPath, [BIN, 'agent', ...(opts.clusterPorts ? [] : NO_CLUSTER_PORTS), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return new Promise<ChildAgent>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`agent did not start in time:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /Client Addr: \[(127\.[\d.]+)[^\]]*\] \(HTTP: (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[2]);
        resolve({ proc, base: `http://${m[1]!}:${port}`, port, output: () => out, exited, kill: (s = 'SIGTERM') => proc.kill(s) });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code} before listening:\n${out}`));
    });
  });
}
