// One process per data directory: two agents appending to the same log would interleave their
// records and lose acknowledged writes. The lock is a file holding the owner's pid, created
// exclusively; a lock left by a process that no longer runs (kill -9) is taken over.

import fs from 'node:fs';
import path from 'node:path';

export class DirLockedError extends Error {}

export interface DirLock {
  release(): void;
}

/** Linux: a process's state letter and start time (clock ticks since boot); null elsewhere. */
function procStat(pid: number): { state: string; start: string } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: fields follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', start: fields[19] ?? '' };
  } catch {
    return null;
  }
}

/** The identity written into the lock: pid, and start time where /proc tells it (pids are reused). */
function identity(pid: number): string {
  const st = procStat(pid);
  return st ? `${pid} ${st.start}` : `${pid}`;
}

/** Does the process that wrote `owner` still run? Zombies and reused pids do not count. */
function ownerRuns(owner: string): boolean {
  const [pidText, start] = owner.split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const st = procStat(pid);
  if (!st) return true; // no /proc: trust kill(0)
  if (st.state === 'Z' || st.state === 'X') return false;
  return start === undefined || start === st.start;
}

export function lockDir(dir: string): DirLock {
  const file = path.join(dir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, `${identity(process.pid)}\n`);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      return {
        release: () => {
          // Only remove the lock if it is still ours.
          try {
            if (fs.readFileSync(file, 'utf8').trim() === identity(process.pid)) fs.rmSync(file, { force: true });
          } catch {
            /* already gone */
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner: string;
    try {
      owner = fs.readFileSync(file, 'utf8').trim();
    } catch {
      continue; // removed meanwhile: try again
    }
    if (ownerRuns(owner)) {
      throw new DirLockedError(`data directory ${dir} is in use by another agent (pid ${owner.split(' ')[0]}); if that is wrong, remove ${file}`);
    }
    // Stale (its process is gone) or unreadable: take it over.
    fs.rmSync(file, { force: true });
  }
  throw new DirLockedError(`could not lock data directory ${dir}: another agent keeps taking ${file}`);
}
