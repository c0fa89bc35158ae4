// Unix sockets as Consul's agent makes them (listenSocket, setFilePermissions): a stale socket
// file is replaced, then unix_sockets' user, group (numeric ids) and mode (octal) are applied.

import fs from 'node:fs';

export interface SocketPermissions {
  mode: string;
  user: string;
  group: string;
}

/** Removes a leftover socket file so listen() can bind the path; a missing file is fine. */
export function clearSocketPath(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`error removing socket file: ${(e as Error).message}`, { cause: e });
  }
}

function id(kind: 'user' | 'group', v: string): number {
  if (v === '') return -1;
  if (!/^\d+$/.test(v)) throw new Error(`Failed setting up socket: invalid ${kind} specified: ${v}`);
  return Number(v);
}

export function setSocketPermissions(path: string, p: SocketPermissions): void {
  const uid = id('user', p.user);
  const gid = id('group', p.group);
  if (uid !== -1 || gid !== -1) fs.chownSync(path, uid, gid);
  if (p.mode !== '') {
    if (!/^[0-7]{1,4}$/.test(p.mode)) throw new Error(`Failed setting up socket: invalid mode specified: ${p.mode}`);
    fs.chmodSync(path, parseInt(p.mode, 8));
  }
}
