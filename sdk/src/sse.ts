/**
 * Server-Sent Events wire-format parser (WHATWG HTML §9.2.6), fed with decoded text chunks.
 * We need our own because EventSource cannot send an Authorization header.
 */

export interface SSEEvent {
  /** `event:` field, "message" when absent. */
  event: string;
  /** `data:` lines joined with "\n". */
  data: string;
  /** The last event id in force when this event was dispatched ("" when none yet). */
  id: string;
}

export class SSEParser {
  /** Last `id:` seen; survives across events as the spec requires (sent back as Last-Event-ID). */
  lastEventId = '';
  /** Last valid `retry:` value in ms, if the server sent one. */
  retryMs: number | undefined;

  private buffer = '';
  private data: string[] = [];
  private eventType = '';
  private sawCR = false;
  private first = true;

  constructor(private readonly onEvent: (ev: SSEEvent) => void) {}

  /** Feeds a chunk of decoded text; complete lines are processed, a partial line waits for more. */
  feed(chunk: string): void {
    if (this.first && chunk) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      this.first = false;
    }
    // A "\r\n" may be split across chunks: the "\r" already ended the line, so drop the "\n".
    if (this.sawCR && chunk[0] === '\n') chunk = chunk.slice(1);
    this.sawCR = false;
    this.buffer += chunk;

    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      this.line(this.buffer.slice(start, i));
      if (c === '\r') {
        if (i + 1 === this.buffer.length) this.sawCR = true;
        else if (this.buffer[i + 1] === '\n') i++;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  /** Ends the stream. Per spec an event not terminated by a blank line is discarded. */
  end(): void {
    this.buffer = '';
    this.data = [];
    this.eventType = '';
    this.sawCR = false;
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line[0] === ':') return; // comment / keep-alive
    const colon = line.indexOf(':');
    let field = line;
    let value = '';
    if (colon >= 0) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
    }
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (value.indexOf('\u0000') < 0) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = parseInt(value, 10);
        break;
      default:
      // Unknown fields are ignored.
    }
  }

  private dispatch(): void {
    const type = this.eventType || 'message';
    const data = this.data;
    this.data = [];
    this.eventType = '';
    if (!data.length) return;
    this.onEvent({ event: type, data: data.join('\n'), id: this.lastEventId });
  }
}
