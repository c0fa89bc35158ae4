// Host facts for GET /v1/agent/host, in the shape Consul's debug.CollectHostInfo gives them (the
// JSON of gopsutil's mem.VirtualMemoryStat, cpu.InfoStat, host.InfoStat and disk.UsageStat), read
// from node:os, /proc and statfs. A fact that cannot be read is left at zero and reported in Errors.

import fs from 'node:fs';
import os from 'node:os';

export interface HostInfo {
  Memory: Record<string, number>;
  CPU: Record<string, unknown>[];
  Host: Record<string, unknown>;
  Disk: Record<string, unknown>;
  CollectionTime: number;
  /** Go's []error marshals each error as {}; null when every fact was read. */
  Errors: Record<string, never>[] | null;
}

const MEM_FIELDS = [
  'total', 'available', 'used', 'usedPercent', 'free', 'active', 'inactive', 'wired', 'laundry', 'buffers', 'cached', 'writeback', 'dirty', 'writebacktmp', 'shared', 'slab', 'sreclaimable', 'sunreclaim',
  'pagetables', 'swapcached', 'commitlimit', 'committedas', 'hightotal', 'highfree', 'lowtotal', 'lowfree', 'swaptotal', 'swapfree', 'mapped', 'vmalloctotal', 'vmallocused', 'vmallocchunk', 'hugepagestotal', 'hugepagesfree', 'hugepagesize',
] as const;

/** /proc/meminfo keys behind gopsutil's fields (kB unless a count). */
const MEMINFO: Record<string, string> = {
  MemTotal: 'total', MemFree: 'free', MemAvailable: 'available', Buffers: 'buffers', Cached: 'cached', Active: 'active', Inactive: 'inactive', Writeback: 'writeback', Dirty: 'dirty', WritebackTmp: 'writebacktmp',
  Shmem: 'shared', Slab: 'slab', SReclaimable: 'sreclaimable', SUnreclaim: 'sunreclaim', PageTables: 'pagetables', SwapCached: 'swapcached', CommitLimit: 'commitlimit', Committed_AS: 'committedas', HighTotal: 'hightotal',
  HighFree: 'highfree', LowTotal: 'lowtotal', LowFree: 'lowfree', SwapTotal: 'swaptotal', SwapFree: 'swapfree', Mapped: 'mapped', VmallocTotal: 'vmalloctotal', VmallocUsed: 'vmallocused', VmallocChunk: 'vmallocchunk',
  HugePages_Total: 'hugepagestotal', HugePages_Free: 'hugepagesfree', Hugepagesize: 'hugepagesize',
};
const COUNTS = new Set(['hugepagestotal', 'hugepagesfree']);

/** statfs f_type → gopsutil's name, for the common filesystems. */
const FS_TYPES: Record<number, string> = { 0xef53: 'ext2/ext3', 0x794c7630: 'overlayfs', 0x58465342: 'xfs', 0x01021994: 'tmpfs', 0x9123683e: 'btrfs', 0x6969: 'nfs', 0x2fc12fc1: 'zfs' };

function memory(errors: string[]): Record<string, number> {
  const m: Record<string, number> = Object.fromEntries(MEM_FIELDS.map((k) => [k, 0]));
  try {
    for (const line of fs.readFileSync('/proc/meminfo', 'utf8').split('\n')) {
      const match = /^(\S+):\s+(\d+)/.exec(line);
      const key = match && MEMINFO[match[1]!];
      if (key) m[key] = Number(match[2]) * (COUNTS.has(key) ? 1 : 1024);
    }
    // As gopsutil: reclaimable slab counts as cache, and used is what is neither free nor cache.
    m.cached = (m.cached ?? 0) + (m.sreclaimable ?? 0);
    m.used = (m.total ?? 0) - (m.free ?? 0) - (m.buffers ?? 0) - (m.cached ?? 0);
  } catch (e) {
    errors.push((e as Error).message);
    m.total = os.totalmem();
    m.free = os.freemem();
    m.used = m.total - m.free;
  }
  m.usedPercent = m.total ? ((m.used ?? 0) / m.total) * 100 : 0;
  return m;
}

function cpus(errors: string[]): Record<string, unknown>[] {
  let text = '';
  try {
    text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch (e) {
    errors.push((e as Error).message);
  }
  const blocks = text.split(/\n\s*\n/).filter((b) => b.includes('processor'));
  if (blocks.length === 0) {
    return os.cpus().map((c, i) => ({ cpu: i, vendorId: '', family: '', model: '', stepping: 0, physicalId: '', coreId: '', cores: 1, modelName: c.model, mhz: c.speed, cacheSize: 0, flags: [], microcode: '' }));
  }
  return blocks.map((b) => {
    const f: Record<string, string> = {};
    for (const line of b.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) f[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    return {
      cpu: Number(f['processor'] ?? 0),
      vendorId: f['vendor_id'] ?? '',
      family: f['cpu family'] ?? '',
      model: f['model'] ?? '',
      stepping: Number(f['stepping'] ?? 0) || 0,
      physicalId: f['physical id'] ?? '',
      coreId: f['core id'] ?? '',
      cores: 1,
      modelName: f['model name'] ?? '',
      mhz: Number(f['cpu MHz'] ?? 0) || 0,
      cacheSize: parseInt(f['cache size'] ?? '0', 10) || 0,
      flags: (f['flags'] ?? '').split(/\s+/).filter(Boolean),
      microcode: f['microcode'] ?? '',
    };
  });
}

function readOr(file: string, def = ''): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return def;
  }
}

function host(errors: string[]): Record<string, unknown> {
  const release: Record<string, string> = {};
  for (const line of readOr('/etc/os-release').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) release[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  }
  const uptime = Math.floor(os.uptime());
  const btime = /^btime (\d+)$/m.exec(readOr('/proc/stat'));
  let procs = 0;
  try {
    procs = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length;
  } catch (e) {
    errors.push((e as Error).message);
  }
  const like = (release['ID_LIKE'] ?? '').split(' ')[0] ?? '';
  return {
    hostname: os.hostname(),
    uptime,
    bootTime: btime ? Number(btime[1]) : Math.floor(Date.now() / 1000) - uptime,
    procs,
    os: os.platform(),
    platform: release['ID'] ?? '',
    platformFamily: like || release['ID'] || '',
    platformVersion: release['VERSION_ID'] ?? '',
    kernelVersion: os.release(),
    kernelArch: os.machine(),
    virtualizationSystem: '',
    virtualizationRole: '',
    hostId: readOr('/sys/class/dmi/id/product_uuid') || readOr('/etc/machine-id'),
  };
}

function disk(errors: string[], path = '/'): Record<string, unknown> {
  try {
    const s = fs.statfsSync(path);
    const total = s.blocks * s.bsize;
    const free = s.bavail * s.bsize;
    const used = (s.blocks - s.bfree) * s.bsize;
    const inodesUsed = s.files - s.ffree;
    return {
      path,
      fstype: FS_TYPES[s.type] ?? '',
      total,
      free,
      used,
      usedPercent: used + free ? (used / (used + free)) * 100 : 0,
      inodesTotal: s.files,
      inodesUsed,
      inodesFree: s.ffree,
      inodesUsedPercent: s.files ? (inodesUsed / s.files) * 100 : 0,
    };
  } catch (e) {
    errors.push((e as Error).message);
    return { path, fstype: '', total: 0, free: 0, used: 0, usedPercent: 0, inodesTotal: 0, inodesUsed: 0, inodesFree: 0, inodesUsedPercent: 0 };
  }
}

export function collectHostInfo(): HostInfo {
  const errors: string[] = [];
  const info = { Memory: memory(errors), CPU: cpus(errors), Host: host(errors), Disk: disk(errors) };
  return { ...info, CollectionTime: Date.now() * 1e6, Errors: errors.length ? errors.map(() => ({})) : null };
}
