// Local state persisted in the data dir, in Consul 1.10's layout:
//   <data_dir>/node-id              the node's UUID
//   <data_dir>/services/<md5(id)>   {"Token","Service","Source"}        (persistedService)
//   <data_dir>/checks/<md5(id)>     {"Check","ChkType","Token","Source"} (persistedCheck)
//   <data_dir>/checks/state/<md5>   {"CheckID","Status","Output","Expires"} (TTL check state)
// Maintenance mode is a persisted check (_node_maintenance, _service_maintenance:<id>).
// Files are written atomically (temp file, fsync, rename).

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { generateUUID, isUUID } from '../util/ids.js';
import type { Logger } from '../util/log.js';
import type { CheckType, LocalService } from './definitions.js';
import type { LocalCheck } from './local-state.js';

export type ConfigSource = 'local' | 'remote';

export interface PersistedService {
  Token: string;
  Service: LocalService;
  Source: ConfigSource;
}

export interface PersistedCheck {
  Check: LocalCheck;
  ChkType: CheckType | null;
  Token: string;
  Source: ConfigSource;
}

export interface PersistedCheckState {
  CheckID: string;
  Status: string;
  Output: string;
  /** Unix seconds after which the state is not restored. */
  Expires: number;
}

const SERVICES_DIR = 'services';
const CHECKS_DIR = 'checks';
const CHECK_STATE_DIR = path.join('checks', 'state');

/** Consul's file name for an ID: the hex md5 of the ID. */
export function idHash(id: string): string {
  return createHash('md5').update(id).digest('hex');
}

function writeAtomic(file: string, data: string, sync = true): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, data);
    if (sync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

function removeIfExists(file: string): void {
  fs.rmSync(file, { force: true });
}

function isSource(s: unknown): s is ConfigSource {
  return s === 'local' || s === 'remote';
}

/** Reads and writes the agent's persisted state; a no-op without a data dir (-dev). */
export class Persistence {
  constructor(
    readonly dataDir: string | null,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.dataDir !== null;
  }

  private file(...parts: string[]): string {
    return path.join(this.dataDir!, ...parts);
  }

  /**
   * The node ID: the configured one (lowercased, must be a UUID), else the one saved in
   * <data_dir>/node-id, else a new one (saved when there is a data dir).
   */
  nodeID(configured: string): string {
    if (configured) {
      const id = configured.toLowerCase();
      if (!isUUID(id)) throw new Error(`uuid string is wrong length`);
      return id;
    }
    if (!this.enabled) return generateUUID();
    const file = this.file('node-id');
    if (fs.existsSync(file)) {
      const id = fs.readFileSync(file, 'utf8').trim().toLowerCase();
      if (!isUUID(id)) throw new Error(`Failed to parse node ID ${JSON.stringify(id)} from ${file}: uuid string is wrong length`);
      return id;
    }
    const id = generateUUID();
    writeAtomic(file, id);
    return id;
  }

  saveService(service: LocalService, token: string, source: ConfigSource): void {
    if (!this.enabled) return;
    const p: PersistedService = { Token: token, Service: service, Source: source };
    writeAtomic(this.file(SERVICES_DIR, idHash(service.ID)), JSON.stringify(p));
  }

  purgeService(id: string): void {
    if (!this.enabled) return;
    removeIfExists(this.file(SERVICES_DIR, idHash(id)));
  }

  saveCheck(check: LocalCheck, chkType: CheckType | null, token: string, source: ConfigSource): void {
    if (!this.enabled) return;
    const p: PersistedCheck = { Check: check, ChkType: chkType, Token: token, Source: source };
    writeAtomic(this.file(CHECKS_DIR, idHash(check.CheckID)), JSON.stringify(p));
  }

  purgeCheck(id: string): void {
    if (!this.enabled) return;
    removeIfExists(this.file(CHECKS_DIR, idHash(id)));
    this.purgeCheckState(id);
  }

  /** Records a TTL check's status so a restart brings it back in that state until the TTL passes. */
  saveCheckState(id: string, status: string, output: string, ttlMs: number): void {
    if (!this.enabled) return;
    const s: PersistedCheckState = { CheckID: id, Status: status, Output: output, Expires: Math.floor((Date.now() + ttlMs) / 1000) };
    // Written on every TTL update, so without an fsync (as Consul's persistCheckState).
    writeAtomic(this.file(CHECK_STATE_DIR, idHash(id)), JSON.stringify(s), false);
  }

  /** The saved state of a check, unless it has expired (then it is purged). */
  loadCheckState(id: string): { Status: string; Output: string } | null {
    if (!this.enabled) return null;
    const file = this.file(CHECK_STATE_DIR, idHash(id));
    let raw: string;
    try {
      raw = fs.readFileSync(file, 'utf8');
    } catch {
      return null;
    }
    try {
      const s = JSON.parse(raw) as PersistedCheckState;
      if (Date.now() / 1000 >= s.Expires) {
        this.logger.debug('check state expired, not restoring', { check: id });
        this.purgeCheckState(id);
        return null;
      }
      return { Status: s.Status, Output: s.Output };
    } catch (e) {
      this.logger.error('failed decoding check state', { error: (e as Error).message });
      this.purgeCheckState(id);
      return null;
    }
  }

  purgeCheckState(id: string): void {
    if (!this.enabled) return;
    removeIfExists(this.file(CHECK_STATE_DIR, idHash(id)));
  }

  private readDir<T>(dir: string, valid: (v: unknown) => v is T): { file: string; value: T }[] {
    if (!this.enabled) return [];
    const full = this.file(dir);
    let names: string[];
    try {
      names = fs.readdirSync(full);
    } catch {
      return [];
    }
    const out: { file: string; value: T }[] = [];
    for (const name of names.sort()) {
      const file = path.join(full, name);
      if (name.endsWith('tmp')) {
        this.logger.warn('Ignoring temporary file', { file: name });
        continue;
      }
      if (!fs.statSync(file).isFile()) continue;
      try {
        const v = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
        if (valid(v)) out.push({ file, value: v });
        else this.logger.error('Failed decoding file', { file });
      } catch (e) {
        this.logger.error('Failed decoding file', { file, error: (e as Error).message });
      }
    }
    return out;
  }

  services(): PersistedService[] {
    return this.readDir(SERVICES_DIR, (v): v is PersistedService => {
      const p = v as Partial<PersistedService> | null;
      return typeof p === 'object' && p !== null && typeof p.Service === 'object' && p.Service !== null && typeof p.Service.ID === 'string' && isSource(p.Source);
    }).map((e) => e.value);
  }

  checks(): PersistedCheck[] {
    return this.readDir(CHECKS_DIR, (v): v is PersistedCheck => {
      const p = v as Partial<PersistedCheck> | null;
      return typeof p === 'object' && p !== null && typeof p.Check === 'object' && p.Check !== null && typeof p.Check.CheckID === 'string' && isSource(p.Source);
    }).map((e) => e.value);
  }
}
