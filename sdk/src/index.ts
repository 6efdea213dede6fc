/**
 * @misybot/sdk — the public API. The IIFE build exposes the same functions as `window.misy`.
 *
 *   await misy.init({ publicKey: 'pk_live_…' });
 *   misy.connectChat();                 // floating launcher + panel
 *   misy.connectChat('#chat');          // or inline, always open
 *   misy.subscribeEvents((ev) => …);
 */
import { MisyClient } from './client';
import { MisyError } from './errors';
import type { InitOptions, MisyEvent, Reply, SessionInfo } from './types';
import { Widget } from './widget';

export { MisyClient } from './client';
export { MisyError } from './errors';
export { renderMarkdown } from './markdown';
export type {
  Booking,
  ChatMessage,
  ConversationStatus,
  InitOptions,
  Language,
  MessageRole,
  MisyEvent,
  MisyEventType,
  Reply,
  SendState,
  SessionInfo,
  Source,
} from './types';

declare const __MISY_VERSION__: string;
export const version: string = typeof __MISY_VERSION__ === 'string' ? __MISY_VERSION__ : 'dev';

const client = new MisyClient();
let widget: Widget | null = null;

/**
 * Used by the script-tag build: the API defaults to the origin misy.js was loaded from.
 * @internal
 */
export function _setDefaultApiBase(base: string): void {
  client.defaultApiBase = base;
}

/** Loads the company config, checks the origin, starts the visitor session and the events stream. */
export function init(opts: InitOptions): Promise<SessionInfo> {
  return client.init(opts);
}

/**
 * Mounts the chat UI (after or during init()). Without a target: a launcher button and a floating
 * panel. With a target (element or CSS selector): the panel inline in it, always open.
 */
export function connectChat(target?: HTMLElement | string): void {
  if (client.phase === 'idle' || client.phase === 'destroyed') {
    throw new MisyError('not_initialized', 'call misy.init() before misy.connectChat()');
  }
  let container: HTMLElement | null = null;
  if (typeof target === 'string') {
    container = document.querySelector<HTMLElement>(target);
    if (!container) throw new MisyError('target_not_found', 'no element matches ' + target);
  } else if (target) {
    container = target;
  }
  if (widget) widget.destroy();
  widget = new Widget(client, container);
}

/** Sends a message (queued while offline); resolves with the reply once delivered. */
export function sendMessage(text: string): Promise<Reply> {
  return client.sendMessage(text);
}

export function getSession(): SessionInfo | null {
  return client.getSession();
}

/** Listens to message / delta / typing / handoff / booking / error events; returns unsubscribe. */
export function subscribeEvents(cb: (ev: MisyEvent) => void): () => void {
  return client.subscribeEvents(cb);
}

/** Unmounts the widget and stops the stream and every timer. */
export function destroy(): void {
  if (widget) widget.destroy();
  widget = null;
  client.destroy();
}

const misy = { init, connectChat, sendMessage, getSession, subscribeEvents, destroy, version };
export default misy;
