// Child process of bench/fanout.ts: once told to start, GETs one path on a few keep-alive
// connections, each paced at one request per 2 ms (a steady, moderate load rather than a flood
// that would itself slow the agent), until told to stop; then sends back every request's start
// (wall ms) and latency.

import http from 'node:http';

const [base, path, conns] = process.argv.slice(2) as [string, string, string];
const url = new URL(path, base);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(conns) });
const samples: { at: number; ms: number }[] = [];
const PACE_MS = 2;
let running = true;

function once(): Promise<void> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: url.hostname, port: url.port, path: url.pathname + url.search, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: ${res.statusCode}`));
        samples.push({ at: performance.timeOrigin + t0, ms: performance.now() - t0 });
        resolve();
      });
    });
    req.on('error', reject);
  });
}

async function loop(): Promise<void> {
  while (running) {
    const t0 = performance.now();
    await once();
    const left = PACE_MS - (performance.now() - t0);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
  }
}

let loops: Promise<void>[] = [];
process.on('message', (m: string) => {
  if (m === 'start') {
    loops = Array.from({ length: Number(conns) }, loop);
    return;
  }
  running = false;
  void Promise.all(loops).then(() => process.send?.(samples, () => process.exit(0)));
});
process.send?.('ready');
