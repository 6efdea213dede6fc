// Prints the minified and gzip sizes of dist/misy.js (also used by the build).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export function reportSizes(file) {
  const buf = readFileSync(file);
  const min = buf.length;
  const gz = gzipSync(buf, { level: 9 }).length;
  const kb = (n) => (n / 1024).toFixed(1) + ' KB';
  console.log(`dist/misy.js  minified ${kb(min)} (${min} B)  gzip ${kb(gz)} (${gz} B)  [limits: 50 KB min, aim 15 KB gzip]`);
  return { min, gz };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  reportSizes(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'misy.js'));
}
