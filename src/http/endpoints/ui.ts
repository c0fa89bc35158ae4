// The web UI at ui_config.content_path (/ui/ by default), as Consul's agent/uiserver serves it:
// static files from the package's build (or ui_config.dir), index.html for any other path so
// the client-side router can take it, and `/` redirected there (301). With the UI off, `/`
// says so and the UI paths are 404s, as Consul answers.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RuntimeConfig } from '../../config/types.js';
import type { AgentDeps, EndpointGroup } from '../api.js';
import type { Ctx } from '../context.js';
import type { Reply } from '../reply.js';

/** Where `npm run build` puts the bundled UI: dist/ui, beside dist/src. */
export const PACKAGED_UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../ui');

const DISABLED = 'Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart.';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

// Only the UI's own files: no inline script or style, no other origin, no framing.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/** esbuild's [name]-[hash] names: content-addressed, so they may be cached for good. */
const HASHED = /-[A-Z0-9]{8}\.(js|css|map)$/;

export function uiEnabled(c: RuntimeConfig): boolean {
  return c.ui || c.uiDir !== '';
}

function securityHeaders(): Record<string, string> {
  return { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'no-referrer' };
}

/**
 * The file a request names under `root`, or null when it cannot be one: every segment is decoded
 * on its own, and `.`, `..`, slashes, backslashes or NULs hidden in one (as
 * %2e%2e, %2f, %5c, %00) end the request, so nothing outside `root` is ever opened.
 */
export function resolveUIPath(root: string, rel: string): string | null {
  if (rel === '') return '';
  const parts: string[] = [];
  for (const raw of rel.split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (seg === '') continue; // `a//b` and a trailing slash name no other place
    if (seg === '.' || seg === '..' || /[/\\\0]/.test(seg)) return null;
    parts.push(seg);
  }
  const full = path.join(root, ...parts);
  if (parts.length === 0) return '';
  return full.startsWith(root + path.sep) ? full : null;
}

class UIFiles {
  private readonly cache = new Map<string, Buffer>();
  private index: Buffer | null = null;

  constructor(
    private readonly root: string,
    /** Packaged files never change while the agent runs; a ui_config.dir may be edited. */
    private readonly immutable: boolean,
    private readonly config: RuntimeConfig,
  ) {}

  read(file: string): Buffer | null {
    const hit = this.cache.get(file);
    if (hit) return hit;
    let buf: Buffer;
    try {
      if (!fs.statSync(file).isFile()) return null;
      buf = fs.readFileSync(file);
    } catch {
      return null;
    }
    if (this.immutable) this.cache.set(file, buf);
    return buf;
  }

  /** index.html with the content path and the agent's settings filled in (read by the app from a meta tag: no inline script under the CSP). */
  indexHTML(): Buffer | null {
    if (this.index) return this.index;
    const raw = this.read(path.join(this.root, 'index.html'));
    if (!raw) return null;
    const settings = encodeURIComponent(JSON.stringify({ datacenter: this.config.datacenter, contentPath: this.config.uiContentPath, aclsEnabled: this.config.acl.enabled }));
    const out = Buffer.from(raw.toString('utf8').replaceAll('__CONTENT_PATH__', this.config.uiContentPath).replace('__SETTINGS__', settings));
    if (this.immutable) this.index = out;
    return out;
  }
}

function serve(ctx: Ctx, files: UIFiles, root: string, prefix: string): Reply {
  const rel = ctx.rawPath.slice(prefix.length);
  const file = resolveUIPath(root, rel);
  if (file === null) return { status: 404, headers: securityHeaders() };
  if (file !== '') {
    const buf = files.read(file);
    if (buf) {
      const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      const cache = HASHED.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache';
      return { status: 200, body: buf, contentType: type, headers: { ...securityHeaders(), 'Cache-Control': cache } };
    }
    // A missing asset is a 404; anything else is a client-side route, answered by index.html.
    if (/\.[a-z0-9]+$/i.test(file) && rel.startsWith('assets/')) return { status: 404, headers: { ...securityHeaders(), 'Cache-Control': 'no-cache' } };
  }
  const index = files.indexHTML();
  if (!index) return { status: 404, body: `the web UI is not built here (no index.html in ${root}): run npm run build`, contentType: 'text/plain; charset=utf-8', headers: securityHeaders() };
  return { status: 200, body: index, contentType: TYPES['.html'], headers: { ...securityHeaders(), 'Cache-Control': 'no-cache' } };
}

export const uiEndpoints: EndpointGroup<AgentDeps> = (router, { config }: AgentDeps) => {
  const enabled = uiEnabled(config);
  const prefix = config.uiContentPath;
  // The UI's files need no token, as Consul's: what they show comes through the API, which does.
  router.on('/', {
    GET: {
      acl: 'none',
      handler: () => (enabled ? { status: 301, headers: { Location: prefix }, body: `<a href="${prefix}">Moved Permanently</a>.\n\n`, contentType: TYPES['.html'] } : { status: 200, body: DISABLED, contentType: TYPES['.txt'] }),
    },
  });
  if (!enabled || prefix === '/') return;
  const root = config.uiDir !== '' ? path.resolve(config.uiDir) : PACKAGED_UI_DIR;
  const files = new UIFiles(root, config.uiDir === '', config);
  const handler = (ctx: Ctx): Reply => serve(ctx, files, root, prefix);
  router.on(`${prefix}*`, { GET: { acl: 'none', handler }, HEAD: { acl: 'none', handler } });
  // As Go's ServeMux: the prefix without its slash redirects to it.
  router.on(prefix.slice(0, -1), { GET: { acl: 'none', handler: () => ({ status: 301, headers: { Location: prefix } }) } });
};
