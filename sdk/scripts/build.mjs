// Builds dist/misy.js (minified IIFE → window.misy), dist/misy.esm.js and dist/misy.d.ts,
// then prints the sizes and fails if the script-tag bundle is over budget.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportSizes } from './size.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const common = {
  bundle: true,
  target: 'es2019',
  define: { __MISY_VERSION__: JSON.stringify(pkg.version) },
  legalComments: 'none',
  logLevel: 'warning',
  charset: 'utf8',
};

await build({
  ...common,
  entryPoints: [join(root, 'src/global.ts')],
  outfile: join(dist, 'misy.js'),
  format: 'iife',
  globalName: 'misy',
  minify: true,
  banner: { js: `/*! @misybot/sdk ${pkg.version} */` },
});

await build({
  ...common,
  entryPoints: [join(root, 'src/index.ts')],
  outfile: join(dist, 'misy.esm.js'),
  format: 'esm',
  minify: false,
});

// One declaration file for the whole public surface.
const bin = join(root, 'node_modules', '.bin', 'dts-bundle-generator');
execFileSync(
  bin,
  ['--silent', '--no-banner', '--project', join(root, 'tsconfig.json'), '-o', join(dist, 'misy.d.ts'), join(root, 'src/index.ts')],
  { stdio: 'inherit', cwd: root },
);

const { min } = reportSizes(join(dist, 'misy.js'));
if (min > 50 * 1024) {
  console.error('dist/misy.js is over the 50 KB budget');
  process.exit(1);
}
