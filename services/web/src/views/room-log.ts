import { mentionedUsers } from "@parley/protocol";
import { avatar } from "../avatar.js";
import { h, replaceChildren } from "../dom.js";
import { messageText } from "../message-text.js";
import type { ChatMessage, Notice, Outgoing, RoomState } from "../store.js";
import { fullTime, isoTime, shortTime } from "../time.js";

/** Within this distance of the bottom the reader counts as "following" the conversation. */
const PINNED_SLACK_PX = 48;
/** Older history is asked for when the reader scrolls this close to the top. */
const NEAR_TOP_PX = 200;
/** Consecutive messages of one sender within this gap share one header. */
const GROUP_GAP_MS = 5 * 60_000;

export interface RoomLogHooks {
  readonly me: string;
  readonly avatarUrl: (user: string) => string | undefined;
  readonly loadOlder: () => void;
  readonly retry: (item: Outgoing) => void;
  readonly discard: (item: Outgoing) => void;
  /** The reader's position changed: pinned to the bottom, or how many new messages wait below. */
  readonly onPosition: () => void;
}

interface Shown {
  readonly offset: number;
  readonly ts: number;
  readonly from: string;
  readonly el: HTMLLIElement;
}

/**
 * The scrollable message list of one room. Each room keeps its own element, so switching rooms
 * keeps every room's scroll position; new messages scroll the view only when the reader is at
 * the bottom, and older pages are inserted above without moving what the reader is looking at.
 */
export class RoomLog {
  readonly el: HTMLDivElement;
  private readonly list: HTMLOListElement;
  private readonly outbox: HTMLOListElement;
  private readonly top: HTMLDivElement;
  /** Message items in offset order. */
  private readonly shown: Shown[] = [];
  private readonly outboxItems = new Map<number, HTMLLIElement>();
  private pinnedValue = true;
  private savedTop = 0;
  private unseenBelow = 0;
  private attached = false;
  private readonly resize: ResizeObserver;
  /** "New messages": above the first message after `dividerAfter`. */
  private readonly divider: HTMLLIElement;
  private dividerAfter: number | undefined;
  /** "Seen" in a DM: under your latest message the other person has read. */
  private readonly seen: HTMLParagraphElement;
  private seenUpTo = 0;

  constructor(
    private readonly room: RoomState,
    label: string,
    private readonly hooks: RoomLogHooks,
  ) {
    this.top = h("div", { class: "log-top" });
    this.divider = h("li", { class: "divider" }, h("span", {}, "New messages"));
    this.seen = h("p", { class: "seen" }, "Seen");
    this.list = h("ol", { class: "messages" });
    this.outbox = h("ol", { class: "outbox", attrs: { "aria-label": "Messages waiting to be sent" } });
    this.el = h(
      "div",
      {
        class: "log",
        attrs: { role: "log", tabindex: 0, "aria-label": `Messages in ${label}`, "data-room": room.name },
        on: { scroll: () => this.onScroll() },
      },
      this.top,
      this.list,
      this.outbox,
    );
    // Phone keyboards and window resizes change the height: a following reader stays at the bottom.
    this.resize = new ResizeObserver(() => {
      if (this.attached && this.pinnedValue) this.scrollToBottom();
    });
    this.resize.observe(this.el);
    this.renderTop();
  }

  get pinned(): boolean {
    return this.pinnedValue;
  }

  get unseen(): number {
    return this.unseenBelow;
  }

  attach(host: HTMLElement): void {
    host.replaceChildren(this.el);
    this.attached = true;
    if (this.pinnedValue) this.scrollToBottom();
    else this.el.scrollTop = this.savedTop;
    this.fillViewport();
  }

  detach(): void {
    if (!this.attached) return;
    this.savedTop = this.el.scrollTop;
    this.attached = false;
    this.el.remove();
  }

  scrollToBottom(): void {
    this.el.scrollTop = this.el.scrollHeight;
    this.pinnedValue = true;
    this.unseenBelow = 0;
    this.hooks.onPosition();
  }

  dispose(): void {
    this.resize.disconnect();
    this.el.remove();
  }

  // ---- content ----

  addMessages(messages: readonly ChatMessage[], source: "live" | "history"): void {
    const before = this.attached ? { height: this.el.scrollHeight, top: this.el.scrollTop } : undefined;
    const wasPinned = this.pinnedValue;
    for (const m of messages) this.insert(m, source);
    this.placeDivider();
    this.placeSeen();
    if (source === "live") {
      if (wasPinned) {
        if (this.attached) this.scrollToBottom();
      } else {
        this.unseenBelow += messages.filter((m) => m.from !== this.hooks.me).length;
        this.hooks.onPosition();
      }
    } else if (before !== undefined) {
      // Keep what the reader looks at in place: the page went in above it.
      if (wasPinned) this.scrollToBottom();
      else this.el.scrollTop = before.top + (this.el.scrollHeight - before.height);
    }
  }

  addNotice(notice: Notice): void {
    const wasPinned = this.pinnedValue;
    this.list.append(
      h(
        "li",
        { class: `notice notice-${notice.kind}` },
        h("span", { class: "notice-text" }, notice.text),
        " ",
        h("time", { attrs: { datetime: isoTime(notice.ts), title: fullTime(notice.ts) } }, shortTime(notice.ts)),
      ),
    );
    if (wasPinned && this.attached) this.scrollToBottom();
  }

  /** A message typed here, shown below the conversation until the server has it. */
  showOutgoing(item: Outgoing): void {
    let entry = this.outboxItems.get(item.id);
    const wasPinned = this.pinnedValue;
    if (entry === undefined) {
      entry = h("li", { class: "message outgoing" });
      this.outboxItems.set(item.id, entry);
      this.outbox.append(entry);
      this.regroupOutbox();
    }
    entry.classList.toggle("failed", item.state === "failed");
    const status =
      item.state === "sending"
        ? h("p", { class: "outgoing-status" }, "Sending…")
        : h(
            "p",
            { class: "outgoing-status", attrs: { role: "alert" } },
            `Not sent${item.error !== undefined ? `: ${item.error}` : ""}. `,
            h("button", { class: "link", attrs: { type: "button" }, on: { click: () => this.hooks.retry(item) } }, "Retry"),
            " · ",
            h("button", { class: "link", attrs: { type: "button" }, on: { click: () => this.hooks.discard(item) } }, "Discard"),
          );
    const me = this.hooks.me;
    replaceChildren(
      entry,
      avatar(me, "m", this.hooks.avatarUrl(me)),
      h("div", { class: "message-body" }, h("p", { class: "message-meta" }, h("span", { class: "message-from" }, me)), h("p", { class: "text" }, ...messageText(item.text, this.room.peer === undefined ? mentionedUsers(item.text) : [], me)), status),
    );
    if (wasPinned && this.attached) this.scrollToBottom();
  }

  removeOutgoing(item: Outgoing): void {
    this.outboxItems.get(item.id)?.remove();
    this.outboxItems.delete(item.id);
    this.regroupOutbox();
  }

  /** Waiting messages are one group: only the first shows who is writing. */
  private regroupOutbox(): void {
    [...this.outbox.children].forEach((el, i) => el.classList.toggle("compact", i > 0));
  }

  /**
   * Shows the "new messages" divider above the first message after `offset` (the read position
   * when the room was opened), or removes it (undefined). Scrolls it into view the first time.
   */
  setDivider(offset: number | undefined): void {
    if (offset === this.dividerAfter) return;
    this.dividerAfter = offset;
    this.placeDivider();
    if (this.divider.isConnected && this.attached) this.divider.scrollIntoView({ block: "center" });
  }

  /** The other person of a DM read up to `offset`: "Seen" goes under your latest message they read. */
  setSeen(offset: number): void {
    this.seenUpTo = offset;
    this.placeSeen();
  }

  private placeDivider(): void {
    const next = this.dividerAfter === undefined ? undefined : this.shown[this.firstAfter(this.dividerAfter)];
    const after = this.divider.nextElementSibling;
    if (next === undefined) this.divider.remove();
    else if (after !== next.el) this.list.insertBefore(this.divider, next.el);
    // The message after the divider shows its sender again; the one after a removed divider may not.
    for (const el of [after, this.divider.nextElementSibling]) if (el instanceof HTMLLIElement) this.regroup(el);
  }

  private placeSeen(): void {
    let target: Shown | undefined;
    for (let i = this.shown.length - 1; i >= 0 && target === undefined; i -= 1) {
      const entry = this.shown[i];
      if (entry !== undefined && entry.from === this.hooks.me && entry.offset <= this.seenUpTo) target = entry;
    }
    const body = target?.el.querySelector(".message-body");
    if (body === undefined || body === null) this.seen.remove();
    else if (this.seen.parentElement !== body) body.append(this.seen);
  }

  /** Redraws the top of the list: load button, loading, or the start of the room. */
  renderTop(): void {
    const room = this.room;
    if (room.loadingOlder) {
      replaceChildren(this.top, h("p", { class: "log-top-text", attrs: { role: "status" } }, "Loading older messages…"));
    } else if (room.more === false) {
      replaceChildren(this.top, h("p", { class: "log-top-text" }, room.peer !== undefined ? "This is the start of your conversation." : "This is the start of the room."));
    } else if (room.more === true || room.historyFailed) {
      replaceChildren(
        this.top,
        h(
          "button",
          { class: "link", attrs: { type: "button" }, on: { click: () => this.hooks.loadOlder() } },
          room.historyFailed ? "Could not load older messages — try again" : "Load older messages",
        ),
      );
    } else {
      replaceChildren(this.top);
    }
    this.fillViewport();
  }

  private insert(m: ChatMessage, source: "live" | "history"): void {
    const el = this.messageItem(m);
    const entry: Shown = { offset: m.offset, ts: m.ts, from: m.from, el };
    const index = this.firstAfter(m.offset);
    const next = this.shown[index];
    if (next !== undefined) this.list.insertBefore(el, next.el);
    else if (source === "history") {
      // Older than anything live may have put below it (notices, later messages).
      const last = this.shown.at(-1);
      if (last !== undefined) last.el.after(el);
      else this.list.prepend(el);
    } else this.list.append(el);
    this.shown.splice(index, 0, entry);
    this.regroup(el);
    const following = el.nextElementSibling;
    if (following instanceof HTMLLIElement) this.regroup(following);
  }

  /** Index of the first shown message with a higher offset (binary search). */
  private firstAfter(offset: number): number {
    let lo = 0;
    let hi = this.shown.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.shown[mid]?.offset ?? 0) > offset) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private messageItem(m: ChatMessage): HTMLLIElement {
    const url = this.hooks.avatarUrl(m.from);
    return h(
      "li",
      {
        class: m.mentions.includes(this.hooks.me) ? "message mentions-me" : "message",
        attrs: { "data-offset": m.offset, "data-from": m.from, "data-ts": m.ts },
      },
      avatar(m.from, "m", url),
      h(
        "div",
        { class: "message-body" },
        h(
          "p",
          { class: "message-meta" },
          h("span", { class: "message-from" }, m.from),
          " ",
          h("time", { attrs: { datetime: isoTime(m.ts), title: fullTime(m.ts) } }, shortTime(m.ts)),
        ),
        h("p", { class: "text" }, ...messageText(m.text, m.mentions, this.hooks.me)),
      ),
    );
  }

  /** A message right after one of the same sender, within minutes, drops its repeated header. */
  private regroup(el: HTMLLIElement): void {
    if (!el.classList.contains("message")) return;
    const prev = el.previousElementSibling;
    const compact =
      prev instanceof HTMLLIElement &&
      prev.classList.contains("message") &&
      prev.dataset["from"] === el.dataset["from"] &&
      Number(el.dataset["ts"]) - Number(prev.dataset["ts"]) < GROUP_GAP_MS;
    el.classList.toggle("compact", compact);
  }

  private onScroll(): void {
    if (!this.attached) return;
    const { scrollTop, scrollHeight, clientHeight } = this.el;
    const pinned = scrollHeight - scrollTop - clientHeight <= PINNED_SLACK_PX;
    if (pinned !== this.pinnedValue || (pinned && this.unseenBelow > 0)) {
      this.pinnedValue = pinned;
      if (pinned) this.unseenBelow = 0;
      this.hooks.onPosition();
    }
    if (scrollTop < NEAR_TOP_PX) this.hooks.loadOlder();
  }

  /** When the messages do not fill the view there is nothing to scroll: fetch more right away. */
  private fillViewport(): void {
    if (!this.attached || this.room.loadingOlder || this.room.more !== true) return;
    if (this.el.scrollHeight <= this.el.clientHeight + NEAR_TOP_PX) this.hooks.loadOlder();
  }
}
