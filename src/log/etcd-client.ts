// The etcd3 client as Tribune uses it: every unary call carries a deadline (a call without one can
// stall for seconds when the etcd leader dies), TLS from storage.etcd.tls, and the key namespace
// of this datacenter.

import fs from 'node:fs';
import { Etcd3, type IOptions, type Namespace } from 'etcd3';
import type { EtcdStorageConfig } from '../config/types.js';

export interface EtcdHandle {
  client: Etcd3;
  /** Keys under `<prefix>/`. */
  ns: Namespace;
  prefix: string;
  requestTimeoutMs: number;
}

export function etcdPrefix(cfg: EtcdStorageConfig, datacenter: string): string {
  const p = cfg.prefix === '' ? `tribune/${datacenter}` : cfg.prefix;
  return p.replace(/\/+$/, '');
}

interface Backoff {
  readonly duration: number;
  next(context: unknown): Backoff;
}

const watchBackoff = (ms: number): Backoff => ({ duration: ms, next: () => watchBackoff(Math.min(1000, ms * 2)) });

export function connectEtcd(cfg: EtcdStorageConfig, datacenter: string): EtcdHandle {
  if (cfg.endpoints.length === 0) throw new Error('storage.etcd.endpoints is empty: name at least one etcd client URL');
  const opts: IOptions = {
    hosts: cfg.endpoints,
    dialTimeout: cfg.dialTimeoutMs,
    // Streams (watches, keep-alives) live long; every other call gets the request deadline.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + cfg.requestTimeoutMs }),
    // etcd3's default watch backoff grows to 30 s: after an etcd outage the log's watch would
    // resume that late (and its pending timer holds a closing process open). 100 ms to 1 s.
    faultHandling: { watchBackoff: watchBackoff(100) },
  };
  if (cfg.tls) {
    opts.credentials = {
      rootCertificate: fs.readFileSync(cfg.tls.caFile),
      ...(cfg.tls.keyFile ? { privateKey: fs.readFileSync(cfg.tls.keyFile) } : {}),
      ...(cfg.tls.certFile ? { certChain: fs.readFileSync(cfg.tls.certFile) } : {}),
    };
  }
  const client = new Etcd3(opts);
  const prefix = etcdPrefix(cfg, datacenter);
  return { client, ns: client.namespace(`${prefix}/`), prefix, requestTimeoutMs: cfg.requestTimeoutMs };
}

export class EtcdTimeoutError extends Error {}

/**
 * Bounds a call whose own deadline etcd3 may stretch (its retry policy re-runs a failed call with
 * a fresh deadline): the promise rejects after `ms` whatever the client does.
 */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new EtcdTimeoutError(`etcd: ${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
