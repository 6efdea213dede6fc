import { describe, expect, it } from 'vitest';
import { SSEParser, type SSEEvent } from '../src/sse';

function parse(chunks: string[]) {
  const events: SSEEvent[] = [];
  const p = new SSEParser((e) => events.push(e));
  for (const c of chunks) p.feed(c);
  return { events, parser: p };
}

describe('SSE parser', () => {
  it('parses event, data and id fields', () => {
    const { events, parser } = parse(['id: 7\nevent: message\ndata: {"id":"m1","text":"hola"}\n\n']);
    expect(events).toEqual([{ event: 'message', data: '{"id":"m1","text":"hola"}', id: '7' }]);
    expect(parser.lastEventId).toBe('7');
  });

  it('handles chunks split mid-line, mid-field and between \\r and \\n', () => {
    const wire = 'id: 41\r\nevent: typing\r\ndata: {"on":true}\r\n\r\nid: 42\r\nevent: delta\r\ndata: {"reply_to":"k","text":"Ho"}\r\n\r\n';
    // Every possible split into two chunks, plus byte-by-byte.
    for (let i = 0; i <= wire.length; i++) {
      const { events } = parse([wire.slice(0, i), wire.slice(i)]);
      expect(events.map((e) => [e.event, e.id]), 'split at ' + i).toEqual([
        ['typing', '41'],
        ['delta', '42'],
      ]);
      expect(events[1].data).toBe('{"reply_to":"k","text":"Ho"}');
    }
    const { events } = parse(wire.split(''));
    expect(events).toHaveLength(2);
  });

  it('joins multi-line data with newlines', () => {
    const { events } = parse(['data: linea 1\ndata: linea 2\ndata:\ndata:  sangría\n\n']);
    expect(events[0].data).toBe('linea 1\nlinea 2\n\n sangría');
    expect(events[0].event).toBe('message');
  });

  it('ignores comments / keep-alives and unknown fields', () => {
    const { events } = parse([': keep-alive\n\n', ':ping\nfoo: bar\nevent: handoff\ndata: {"status":"human"}\n\n']);
    expect(events).toEqual([{ event: 'handoff', data: '{"status":"human"}', id: '' }]);
  });

  it('does not dispatch an event without data, and resets the event name after each event', () => {
    const { events } = parse(['event: typing\n\n', 'data: x\n\n']);
    expect(events).toEqual([{ event: 'message', data: 'x', id: '' }]);
  });

  it('keeps the last id across events without an id, and ignores ids with NUL', () => {
    const { events, parser } = parse(['id: 5\ndata: a\n\n', 'data: b\n\n', 'id: 6\u0000x\ndata: c\n\n']);
    expect(events.map((e) => e.id)).toEqual(['5', '5', '5']);
    expect(parser.lastEventId).toBe('5');
  });

  it('reads retry: and handles a field with no colon and CR-only line endings', () => {
    const { events, parser } = parse(['retry: 2500\rdata\r\rretry: soon\r']);
    expect(parser.retryMs).toBe(2500);
    expect(events).toEqual([{ event: 'message', data: '', id: '' }]);
  });

  it('strips a leading BOM and drops an unterminated event at end()', () => {
    const events: SSEEvent[] = [];
    const p = new SSEParser((e) => events.push(e));
    p.feed('\uFEFFdata: uno\n\ndata: incompleto');
    p.end();
    p.feed('data: dos\n\n');
    expect(events.map((e) => e.data)).toEqual(['uno', 'dos']);
  });
});
