// Bundles the web UI (ui/) into dist/ui with esbuild: content-hashed assets (served with a long
// cache) and an index.html template the agent fills in at run time. Part of `npm run build`.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = path.join(ROOT, 'ui');
const OUT = path.join(ROOT, 'dist', 'ui');

async function main(): Promise<void> {
  fs.rmSync(OUT, { recursive: true, force: true });
  const result = await build({
    entryPoints: [path.join(SRC, 'src', 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: path.join(OUT, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`esbuild produced no JS or CSS bundle: ${outputs.join(', ')}`);
  const html = fs.readFileSync(path.join(SRC, 'index.html'), 'utf8').replace('__JS__', js).replace('__CSS__', css);
  fs.writeFileSync(path.join(OUT, 'index.html'), html);
  fs.copyFileSync(path.join(SRC, 'favicon.svg'), path.join(OUT, 'favicon.svg'));
  fs.writeFileSync(path.join(OUT, 'robots.txt'), 'User-agent: *\nDisallow: /\n');
}

await main();
