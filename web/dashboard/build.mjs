// Bundles the dashboard into static files the gateway serves at /dashboard/: index.html, dashboard.js and
// dashboard.css (uPlot's styles and ours), with source maps. CMake runs it into the `dashboard` folder beside the
// executable (src/CMakeLists.txt); by hand: node build.mjs --outdir DIR.
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
if (!values.outdir) {
  console.error('usage: node build.mjs --outdir DIR');
  process.exit(2);
}
const outdir = values.outdir;

// The folder holds this build's files and nothing else: the gateway serves whatever it finds there.
await mkdir(outdir, { recursive: true });
for (const name of await readdir(outdir)) await rm(join(outdir, name), { recursive: true, force: true });

await esbuild.build({
  entryPoints: [join(here, 'src', 'dashboard.js')],
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  outdir,
  logLevel: 'warning',
});
await copyFile(join(here, 'src', 'index.html'), join(outdir, 'index.html'));
