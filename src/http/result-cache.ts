// Memoises encoded answers by (query, index). When a change wakes thousands of blocking queries
// on the same service, each would rebuild and re-encode the same answer; with this, the first
// builds it and the rest reuse the text. Only for reads whose index moves on every change that
// can affect the answer (the per-service index), so (query, index) determines the answer.

export class ResultCache {
  private readonly entries = new Map<string, { index: number; body: Buffer }>();

  constructor(private readonly maxEntries = 1024) {}

  /** The encoded answer for `key` at `index`, built (and kept as UTF-8 bytes) on a miss. */
  get(key: string, index: number, build: () => string): Buffer {
    const hit = this.entries.get(key);
    if (hit && hit.index === index) return hit.body;
    const body = Buffer.from(build(), 'utf8');
    if (!hit && this.entries.size >= this.maxEntries) {
      // Drop the oldest entry (Map iterates in insertion order).
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { index, body });
    return body;
  }
}
