/** Public types of the Misybot SDK. Wire shapes (snake_case) stay private to api.ts. */

export type Language = 'es' | 'en';
export type ConversationStatus = 'bot' | 'human';
export type MessageRole = 'user' | 'bot' | 'human';
/** What the user sees next to one of their messages. */
export type SendState = 'sending' | 'sent' | 'failed' | 'queued';

export interface InitOptions {
  /** Publishable key of the company (`pk_live_…`). */
  publicKey: string;
  /** Defaults to the origin of the `<script src>` that loaded misy.js, else the page origin. */
  apiBase?: string;
  /** Defaults to the company's configured language, else `navigator.language`. */
  language?: Language;
  /** Optional contact details sent when the session starts. */
  user?: { name?: string; email?: string; phone?: string };
}

export interface SessionInfo {
  visitorId: string;
  companyId: string;
  /** When the in-memory session token expires (ms since epoch). It is refreshed before then. */
  expiresAt: number;
  status: ConversationStatus;
}

export interface Source {
  document_id: string;
  title: string;
}

export interface Booking {
  id: string;
  service?: string;
  /** ISO 8601 string, or epoch seconds/ms. */
  start?: string | number;
  professional?: string;
  status?: string;
  [key: string]: unknown;
}

export interface Reply {
  id: string;
  text: string;
  agent: string;
  handoff: boolean;
  status: ConversationStatus;
  sources: Source[];
  booking?: Booking;
}

/** A bot/human message shown to the visitor (delivered once, after de-duplication). */
export interface ChatMessage {
  id: string;
  role: MessageRole;
  text: string;
  agent?: string;
  /** Idempotency-Key of the customer message this answers, when known. */
  replyTo?: string;
  sources?: Source[];
  /** Seconds since epoch (server time), when known. */
  at?: number;
}

export type MisyEvent =
  | { type: 'message'; message: ChatMessage }
  | { type: 'delta'; replyTo: string; text: string }
  | { type: 'typing'; on: boolean }
  | { type: 'handoff'; status: ConversationStatus; reason?: string }
  | { type: 'booking'; booking: Booking }
  | { type: 'error'; code: string; message: string };

export type MisyEventType = MisyEvent['type'];
