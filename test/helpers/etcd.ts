// Starts real etcd members (Debian's etcd-server, /usr/bin/etcd) on loopback ports the test picks,
// each with a temporary data dir; stop() kills them and removes the dirs.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { tempDir } from './agent.js';

export const ETCD_BIN = process.env.TRIBUNE_ETCD ?? '/usr/bin/etcd';

/** A free loopback TCP port (bound and released: the caller binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface EtcdMember {
  name: string;
  clientUrl: string;
  dir: string;
  proc: ChildProcess | null;
  /** Restarts a killed member with its data dir (it rejoins the cluster). */
  restart(): Promise<void>;
  kill(): Promise<void>;
}

export interface EtcdCluster {
  members: EtcdMember[];
  endpoints: string[];
  stop(): Promise<void>;
}

async function waitHealthy(url: string, timeoutMs: number, out: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`${url}/health`);
      const body = (await r.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`etcd at ${url} did not become healthy:\n${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts an `n`-member etcd cluster and waits until every member answers healthy. */
export async function startEtcd(n = 1): Promise<EtcdCluster> {
  const token = `tribune-test-${process.pid}-${Date.now()}`;
  const specs: { name: string; client: number; peer: number; dir: string }[] = [];
  for (let i = 0; i < n; i++) specs.push({ name: `m${i}`, client: await freePort(), peer: await freePort(), dir: tempDir('tribune-etcd-') });
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',');
  const members: EtcdMember[] = specs.map((s) => {
    let out = '';
    const clientUrl = `http://127.0.0.1:${s.client}`;
    const m: EtcdMember = {
      name: s.name,
      clientUrl,
      dir: s.dir,
      proc: null,
      restart: async () => {
        const proc = spawn(
          ETCD_BIN,
          [
            '--name', s.name, '--data-dir', s.dir,
            '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
            '--listen-peer-urls', `http://127.0.0.1:${s.peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${s.peer}`,
            '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', token,
            '--logger', 'zap', '--log-level', 'error', '--log-outputs', 'stderr',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
        proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
        m.proc = proc;
      },
      kill: async () => {
        const p = m.proc;
        m.proc = null;
        if (!p || p.exitCode !== null) return;
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGKILL');
        await exited;
      },
    };
    (m as EtcdMember & { output: () => string }).output = () => out;
    return m;
  });
  const stop = async (): Promise<void> => {
    for (const m of members) await m.kill();
    for (const m of members) fs.rmSync(m.dir, { recursive: true, force: true });
  };
  try {
    for (const m of members) await m.restart();
    await Promise.all(members.map((m) => waitHealthy(m.clientUrl, 20_000, () => (m as EtcdMember & { output: () => string }).output())));
  } catch (e) {
    await stop();
    throw e;
  }
  return { members, endpoints: members.map((m) => m.clientUrl), stop };
}
