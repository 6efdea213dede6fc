/**
 * Remembers which replies were already shown. A reply can arrive twice — in the POST response and as
 * an SSE `message` — and a stream reconnect or history load can repeat it again.
 *
 * - Any message with an id already seen is a duplicate.
 * - A *bot* message whose reply_to was already answered is a duplicate too: the bot answers each
 *   customer message once. Human agents may send several messages for one customer message, so
 *   those are de-duplicated by id only.
 */
export class ReplyLedger {
  private readonly ids = new Set<string>();
  private readonly answered = new Set<string>();

  /** Records the message and returns true the first time it is seen. */
  accept(m: { id?: string; role?: string; replyTo?: string }): boolean {
    if (this.isDuplicate(m)) return false;
    this.remember(m);
    return true;
  }

  isDuplicate(m: { id?: string; role?: string; replyTo?: string }): boolean {
    if (m.id && this.ids.has(m.id)) return true;
    return !!(m.replyTo && m.role !== 'human' && this.answered.has(m.replyTo));
  }

  remember(m: { id?: string; role?: string; replyTo?: string }): void {
    if (m.id) this.ids.add(m.id);
    if (m.replyTo && m.role !== 'human') this.answered.add(m.replyTo);
  }

  /** Whether the bot's answer to this customer message was already shown (late deltas are ignored). */
  answeredTo(replyTo: string): boolean {
    return this.answered.has(replyTo);
  }
}
