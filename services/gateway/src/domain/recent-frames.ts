/**
 * The last few frames a room delivered on this node, with contiguous offsets. Joins that resume
 * from a recent position are served from here without a round trip to the Store.
 */
export class RecentFrames {
  private readonly offsets: number[];
  private readonly frames: string[];
  private start = 0;
  private size = 0;

  constructor(private readonly capacity: number) {
    this.offsets = new Array<number>(capacity);
    this.frames = new Array<string>(capacity);
  }

  clear(): void {
    this.start = 0;
    this.size = 0;
    this.frames.fill("");
  }

  /** Appends the frame with the next offset (callers keep offsets contiguous). */
  push(offset: number, frame: string): void {
    const at = (this.start + this.size) % this.capacity;
    this.offsets[at] = offset;
    this.frames[at] = frame;
    if (this.size < this.capacity) this.size += 1;
    else this.start = (this.start + 1) % this.capacity;
  }

  /**
   * Frames with offsets from `from` to the newest, or undefined when the buffer no longer holds
   * `from` (the caller must then read the Store).
   */
  since(from: number, head: number): string[] | undefined {
    if (from > head) return [];
    if (this.size === 0) return undefined;
    const oldest = this.offsets[this.start] as number;
    if (from < oldest) return undefined;
    const out: string[] = [];
    for (let i = from - oldest; i < this.size; i++) out.push(this.frames[(this.start + i) % this.capacity] as string);
    return out;
  }
}
