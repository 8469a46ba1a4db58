import { avatar } from "../avatar.js";
import { h, placeChildren, setText } from "../dom.js";
import { parseRoomInput } from "../names.js";
import type { ChatStore, RoomState } from "../store.js";

export interface SidebarHooks {
  /** A room was chosen (phone layout closes the drawer). */
  readonly chosen: () => void;
  readonly signOut: () => void;
}

/** The left column: who you are, your rooms and DMs with unread counts, and "join a room". */
export class Sidebar {
  readonly el: HTMLElement;
  private readonly roomList: HTMLUListElement;
  private readonly dmList: HTMLUListElement;
  private readonly dmHint: HTMLParagraphElement;
  private readonly roomError: HTMLParagraphElement;
  private readonly roomInput: HTMLInputElement;
  private readonly items = new Map<string, RoomItem>();
  private readonly notifyButton: HTMLButtonElement;

  constructor(
    private readonly store: ChatStore,
    private readonly hooks: SidebarHooks,
  ) {
    this.roomList = h("ul", { class: "room-list", attrs: { "aria-labelledby": "rooms-heading" } });
    this.dmList = h("ul", { class: "room-list", attrs: { "aria-labelledby": "dms-heading" } });
    this.dmHint = h("p", { class: "hint" }, "Click a person, or type ", h("kbd", {}, "/dm name hello"), " in a message.");
    this.roomError = h("p", { class: "form-error", attrs: { id: "room-error", role: "alert" } });
    this.roomInput = h("input", {
      attrs: {
        id: "room-input",
        name: "room",
        autocomplete: "off",
        spellcheck: "false",
        placeholder: "room-name",
        maxlength: 64,
        "aria-describedby": "room-error",
      },
      on: { input: () => setText(this.roomError, "") },
    });
    this.notifyButton = h(
      "button",
      { class: "link notify-button", attrs: { type: "button" }, on: { click: () => void store.allowNotifications() } },
      "Turn on desktop notifications for DMs and mentions",
    );
    const joinForm = h(
      "form",
      { class: "join-room", on: { submit: (e) => this.joinRoom(e) } },
      h("label", { attrs: { for: "room-input" } }, "Join or create a room"),
      h("div", { class: "inline-form" }, this.roomInput, h("button", { class: "button", attrs: { type: "submit" } }, "Join")),
      this.roomError,
    );
    this.el = h(
      "aside",
      { class: "sidebar", attrs: { id: "rooms-panel", "aria-label": "Rooms and direct messages" } },
      h(
        "div",
        { class: "me" },
        avatar(store.me, "m", store.selfAvatar),
        h("div", { class: "me-text" }, h("span", { class: "me-name" }, store.me), h("span", { class: "me-sub" }, "signed in as guest")),
        h("button", { class: "link", attrs: { type: "button" }, on: { click: () => hooks.signOut() } }, "Sign out"),
      ),
      h(
        "nav",
        { class: "room-nav", attrs: { "aria-label": "Conversations" } },
        h("h2", { attrs: { id: "rooms-heading" } }, "Rooms"),
        this.roomList,
        h("h2", { attrs: { id: "dms-heading" } }, "Direct messages"),
        this.dmList,
        this.dmHint,
      ),
      h("p", { class: "notify" }, this.notifyButton),
      joinForm,
    );
    store.on("rooms", () => this.render());
    this.render();
  }

  render(): void {
    const rooms: RoomState[] = [];
    const dms: RoomState[] = [];
    for (const room of this.store.rooms.values()) (room.peer === undefined ? rooms : dms).push(room);
    rooms.sort((a, b) => a.name.localeCompare(b.name));
    dms.sort((a, b) => (a.peer ?? "").localeCompare(b.peer ?? ""));
    for (const name of this.items.keys()) if (!this.store.rooms.has(name)) this.items.delete(name);
    placeChildren(
      this.roomList,
      rooms.map((r) => this.item(r)),
    );
    placeChildren(
      this.dmList,
      dms.map((r) => this.item(r)),
    );
    this.dmHint.hidden = dms.length > 0;
    // Asked for once, from this button: a refusal is the person's answer, and it is kept.
    this.notifyButton.hidden = this.store.notifier.permission !== "default";
  }

  /** A conversation's entry, made once and then updated in place (focus stays on it). */
  private item(room: RoomState): HTMLLIElement {
    let item = this.items.get(room.name);
    if (item === undefined) {
      item = new RoomItem(room, this.store, () => {
        this.store.setActive(room.name);
        this.hooks.chosen();
      });
      this.items.set(room.name, item);
    }
    item.update(this.store.active === room.name);
    return item.el;
  }

  private joinRoom(event: SubmitEvent): void {
    event.preventDefault();
    const parsed = parseRoomInput(this.roomInput.value);
    if (!parsed.ok) {
      setText(this.roomError, parsed.reason);
      this.roomInput.setAttribute("aria-invalid", "true");
      return;
    }
    this.roomInput.removeAttribute("aria-invalid");
    this.roomInput.value = "";
    this.store.openRoom(parsed.room);
    this.hooks.chosen();
  }
}

/** One room or DM in the list: its name, unread count and mention count. */
class RoomItem {
  readonly el: HTMLLIElement;
  private readonly button: HTMLButtonElement;
  private readonly unread: HTMLSpanElement;
  private readonly mentions: HTMLSpanElement;

  constructor(
    private readonly room: RoomState,
    store: ChatStore,
    choose: () => void,
  ) {
    const icon = room.peer !== undefined ? avatar(room.peer, "s", store.avatarUrl(room.peer)) : h("span", { class: "room-icon", attrs: { "aria-hidden": "true" } }, "#");
    const label = room.peer !== undefined ? (room.peer === store.me ? `${room.peer} (you)` : room.peer) : room.name;
    this.mentions = h("span", { class: "badge mention-badge" });
    this.unread = h("span", { class: "badge unread-badge" });
    this.button = h(
      "button",
      { class: "room-link", attrs: { type: "button", "data-room": room.name }, on: { click: choose } },
      icon,
      h("span", { class: "room-name" }, label),
      this.mentions,
      this.unread,
    );
    this.el = h("li", {}, this.button);
  }

  update(active: boolean): void {
    const { unread, mentions } = this.room;
    this.button.classList.toggle("has-unread", unread > 0);
    if (active) this.button.setAttribute("aria-current", "page");
    else this.button.removeAttribute("aria-current");
    this.unread.hidden = unread === 0;
    setCount(this.unread, unread, " unread");
    this.mentions.hidden = mentions === 0;
    setCount(this.mentions, mentions, mentions === 1 ? " mention" : " mentions", "@");
  }
}

/** A badge's visible number and, for screen readers, what it counts. */
function setCount(badge: HTMLElement, count: number, what: string, prefix = ""): void {
  const shown = `${prefix}${count > 99 ? "99+" : count}`;
  if (badge.firstChild?.textContent === shown) return;
  badge.replaceChildren(shown, h("span", { class: "sr-only" }, what));
}
