/*
 * Gap and duplicate counting over a room's offsets as one client sees them. Parley numbers a
 * room's messages 1, 2, 3, ... (DESIGN guarantee 2); a member that joined at offset N must see
 * N+1, N+2, ... with nothing missing and nothing twice.
 */

export interface SequenceTotals {
  /** Messages seen in order. */
  readonly inOrder: number;
  /** Offsets skipped: a jump from 7 to 10 counts 2. */
  readonly gaps: number;
  /** Messages at or below an offset already seen (repeats, or late out-of-order arrivals). */
  readonly duplicates: number;
}

/** What one observation was. */
export type Observation = "in-order" | "gap" | "duplicate";

/** Tracks the last offset seen per room for one client. */
export class SequenceTracker {
  private readonly last = new Map<string, number>();
  private inOrder = 0;
  private gaps = 0;
  private duplicates = 0;
  /** Offsets skipped by the last `observe` (0 unless it returned `gap`). */
  lastGap = 0;

  /**
   * The room's position when the client's subscription became live (`subscribed.offset`): the
   * next message must be `offset + 1`. Without it the first message seen sets the baseline.
   */
  start(room: string, offset: number): void {
    this.last.set(room, offset);
  }

  observe(room: string, offset: number): Observation {
    const last = this.last.get(room);
    this.lastGap = 0;
    if (last === undefined || offset === last + 1) {
      this.last.set(room, offset);
      this.inOrder += 1;
      return "in-order";
    }
    if (offset <= last) {
      this.duplicates += 1;
      return "duplicate";
    }
    this.lastGap = offset - last - 1;
    this.gaps += this.lastGap;
    this.inOrder += 1;
    this.last.set(room, offset);
    return "gap";
  }

  /** The last offset seen in `room`, if any. */
  position(room: string): number | undefined {
    return this.last.get(room);
  }

  get totals(): SequenceTotals {
    return { inOrder: this.inOrder, gaps: this.gaps, duplicates: this.duplicates };
  }
}
