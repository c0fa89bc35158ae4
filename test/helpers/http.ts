// A small HTTP client for tests: status, headers and body of one request over a real socket.

import assert from 'node:assert/strict';
import http from 'node:http';

export interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = unknown>(): T;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

export function request(base: string, method: string, path: string, body?: string | Buffer | object, headers: Record<string, string> = {}): Promise<Res> {
  const url = new URL(path, base);
  let payload: Buffer | undefined;
  if (body !== undefined) payload = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return new Promise<Res>((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path: url.pathname + url.search, agent, headers: { ...(payload ? { 'Content-Length': String(payload.length) } : {}), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          const text = buf.toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf, text, json: <T>() => JSON.parse(text) as T });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Bound to one agent: `api.get('/v1/kv/x')`. */
export function client(base: string): {
  get: (p: string, h?: Record<string, string>) => Promise<Res>;
  put: (p: string, b?: string | Buffer | object, h?: Record<string, string>) => Promise<Res>;
  del: (p: string, h?: Record<string, string>) => Promise<Res>;
  req: (m: string, p: string, b?: string | Buffer | object, h?: Record<string, string>) => Promise<Res>;
} {
  return {
    get: (p, h) => request(base, 'GET', p, undefined, h),
    put: (p, b, h) => request(base, 'PUT', p, b ?? '', h),
    del: (p, h) => request(base, 'DELETE', p, undefined, h),
    req: (m, p, b, h) => request(base, m, p, b, h),
  };
}

/** PUT /v1/catalog/register, which must succeed (answer 200 `true`). */
export async function catalogRegister(api: ReturnType<typeof client>, body: object): Promise<void> {
  const r = await api.put('/v1/catalog/register', body);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, 'true');
}
