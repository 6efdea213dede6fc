import { build } from 'esbuild';
import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';

/** Builds the script-tag bundle in memory, like scripts/build.mjs does. */
async function bundle(): Promise<string> {
  const out = await build({
    entryPoints: ['src/global.ts'],
    bundle: true,
    minify: true,
    format: 'iife',
    globalName: 'misy',
    target: 'es2019',
    define: { __MISY_VERSION__: '"test"' },
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

describe('script-tag bundle', () => {
  it('stays CSP-friendly: no eval, no Function constructor, no HTML string sinks', async () => {
    const code = await bundle();
    expect(code).not.toMatch(/\beval\s*\(/);
    expect(code).not.toMatch(/new Function\b/);
    expect(code).not.toMatch(/\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write/);
    expect(code).not.toMatch(/setAttribute\(\s*["']style["']/);
    expect(code.length).toBeLessThan(50 * 1024);
  }, 20_000);

  it('exposes window.misy with the public API', async () => {
    const code = await bundle();
    // Run it as a classic <script>, the way pages load it.
    const dom = new JSDOM('<!doctype html><body></body>', { runScripts: 'dangerously', url: 'https://clinic.example/' });
    const script = dom.window.document.createElement('script');
    script.textContent = code;
    dom.window.document.body.appendChild(script);
    const api = (dom.window as any).misy;
    for (const fn of ['init', 'connectChat', 'sendMessage', 'getSession', 'subscribeEvents', 'destroy']) {
      expect(typeof api[fn], fn).toBe('function');
    }
    expect(api.getSession()).toBeNull();
    expect(() => api.connectChat()).toThrow(/init/);
  }, 20_000);
});
