/**
 * Entry of the script-tag build (dist/misy.js, IIFE → window.misy).
 *
 *   <script src="https://api.misybot.com/sdk/misy.js" data-public-key="pk_live_…" async></script>
 *
 * With data-public-key it runs init() and connectChat() itself; data-api-base, data-language and
 * data-target (CSS selector for an inline panel) are optional.
 */
import { _setDefaultApiBase, connectChat, destroy, getSession, init, sendMessage, subscribeEvents, version } from './index';
import type { Language } from './types';

// document.currentScript is only set while this script first runs (async scripts included).
const script = typeof document !== 'undefined' ? (document.currentScript as HTMLScriptElement | null) : null;
if (script && script.src) {
  try {
    _setDefaultApiBase(new URL(script.src, location.href).origin);
  } catch {
    /* keep the page origin */
  }
}

function whenReady(fn: () => void): void {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', fn, { once: true });
  else fn();
}

const publicKey = script && script.getAttribute('data-public-key');
if (publicKey) {
  const language = (script as HTMLScriptElement).getAttribute('data-language') || undefined;
  const apiBase = (script as HTMLScriptElement).getAttribute('data-api-base') || undefined;
  const target = (script as HTMLScriptElement).getAttribute('data-target') || undefined;
  // Failures (origin not allowed, bad key) are shown inside the widget; nothing to do here.
  init({ publicKey, apiBase, language: language as Language | undefined }).catch(() => {});
  whenReady(() => {
    try {
      connectChat(target);
    } catch (e) {
      if (typeof console !== 'undefined') console.error('[misy]', e);
    }
  });
}

export { init, connectChat, sendMessage, getSession, subscribeEvents, destroy, version };
