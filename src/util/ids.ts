import { randomBytes } from 'node:crypto';

/** A random UUID in Consul's format (lowercase hex, 8-4-4-4-12), not tied to RFC 4122 versions. */
export function generateUUID(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isUUID(s: string): boolean {
  return UUID_RE.test(s);
}
