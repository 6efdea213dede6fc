import type { Language } from './types';

/** UI strings. `{x}` placeholders are filled by `t()`. Spanish first. */
const STRINGS = {
  es: {
    open: 'Abrir chat',
    close: 'Cerrar chat',
    dialog: 'Chat con {agent} de {company}',
    dialogShort: 'Chat con {agent}',
    botStatus: 'Asistente virtual',
    humanStatus: 'Te atiende una persona',
    inputLabel: 'Escribe tu mensaje',
    placeholder: 'Escribe tu mensaje…',
    send: 'Enviar',
    typing: '{agent} está escribiendo…',
    sending: 'Enviando…',
    sent: 'Enviado',
    failed: 'No se pudo enviar',
    queued: 'En cola: se enviará al recuperar la conexión',
    retry: 'Reintentar',
    you: 'Tú',
    sources: 'Fuentes',
    connecting: 'Conectando…',
    offline: 'Sin conexión. Tus mensajes se enviarán cuando vuelva la conexión.',
    handoffHuman: 'Una persona del equipo se ha unido a la conversación.',
    handoffBot: 'El asistente virtual vuelve a atenderte.',
    bookingConfirmed: 'Cita confirmada',
    bookingCancelled: 'Cita cancelada',
    bookingPending: 'Cita pendiente de confirmación',
    bookingWith: 'Con {professional}',
  },
  en: {
    open: 'Open chat',
    close: 'Close chat',
    dialog: 'Chat with {agent} from {company}',
    dialogShort: 'Chat with {agent}',
    botStatus: 'Virtual assistant',
    humanStatus: "You're talking to a person",
    inputLabel: 'Type your message',
    placeholder: 'Type your message…',
    send: 'Send',
    typing: '{agent} is typing…',
    sending: 'Sending…',
    sent: 'Sent',
    failed: 'Not sent',
    queued: 'Queued: it will be sent when you are back online',
    retry: 'Retry',
    you: 'You',
    sources: 'Sources',
    connecting: 'Connecting…',
    offline: "You're offline. Your messages will be sent when the connection is back.",
    handoffHuman: 'A person from the team has joined the conversation.',
    handoffBot: 'The virtual assistant is back.',
    bookingConfirmed: 'Appointment confirmed',
    bookingCancelled: 'Appointment cancelled',
    bookingPending: 'Appointment pending confirmation',
    bookingWith: 'With {professional}',
  },
};

export type StringKey = keyof typeof STRINGS.es;

/**
 * Error code → human text. Never show the server's raw message or JSON to a visitor: unknown codes
 * fall back to `generic`.
 */
const ERRORS: Record<Language, Record<string, string>> = {
  es: {
    origin_not_allowed: 'Este sitio no está autorizado para usar el chat de {company}.',
    invalid_publishable_key: 'El chat no está bien configurado en este sitio (clave no válida).',
    rate_limited: 'Has enviado muchos mensajes; intenta de nuevo en {seconds} s.',
    monthly_quota_exceeded:
      'El chat de {company} no está disponible en este momento. Inténtalo más tarde o contacta por otro medio.',
    conversation_busy: 'Todavía estamos respondiendo tu mensaje anterior; espera un momento.',
    service_unavailable: 'El servicio no está disponible en este momento. Lo seguimos intentando…',
    invalid_message: 'El mensaje no es válido (máximo 4000 caracteres).',
    network_error: 'Sin conexión. Tus mensajes se enviarán cuando vuelva la conexión.',
    session_failed: 'No se pudo iniciar el chat. Lo intentaremos de nuevo en breve.',
    generic: 'Algo salió mal. Inténtalo de nuevo.',
  },
  en: {
    origin_not_allowed: "This site is not allowed to use {company}'s chat.",
    invalid_publishable_key: 'The chat is not set up correctly on this site (invalid key).',
    rate_limited: "You've sent too many messages; try again in {seconds} s.",
    monthly_quota_exceeded:
      "{company}'s chat is not available right now. Please try later or reach out another way.",
    conversation_busy: "We're still answering your previous message; please wait a moment.",
    service_unavailable: 'The service is unavailable right now. We keep trying…',
    invalid_message: 'The message is not valid (4000 characters at most).',
    network_error: "You're offline. Your messages will be sent when the connection is back.",
    session_failed: "The chat couldn't start. We'll try again shortly.",
    generic: 'Something went wrong. Please try again.',
  },
};

type Vars = Record<string, string | number | undefined>;

function fill(template: string, vars: Vars = {}): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const v = vars[name];
    return v === undefined || v === '' ? '' : String(v);
  });
}

export function t(lang: Language, key: StringKey, vars?: Vars): string {
  return fill(STRINGS[lang][key], vars);
}

export function hasErrorText(code: string): boolean {
  return Object.prototype.hasOwnProperty.call(ERRORS.es, code);
}

/** Localized text for an error code (unknown codes get a generic sentence). */
export function errorText(lang: Language, code: string, vars?: Vars): string {
  const table = ERRORS[lang];
  const template = table[code] || table.generic;
  return fill(template, { company: lang === 'es' ? 'esta empresa' : 'this company', ...stripEmpty(vars) });
}

function stripEmpty(vars: Vars = {}): Vars {
  const out: Vars = {};
  for (const k in vars) if (vars[k] !== undefined && vars[k] !== '') out[k] = vars[k];
  return out;
}

/** 'es-MX' → 'es', 'en-GB' → 'en'; anything else → undefined. */
export function normalizeLanguage(value: unknown): Language | undefined {
  if (typeof value !== 'string') return undefined;
  const base = value.trim().toLowerCase().slice(0, 2);
  return base === 'es' || base === 'en' ? base : undefined;
}

/** opts.language, else the company's language, else the browser's; Spanish by default. */
export function pickLanguage(explicit?: unknown, company?: unknown, browser?: unknown): Language {
  return normalizeLanguage(explicit) || normalizeLanguage(company) || normalizeLanguage(browser) || 'es';
}
