import { avatar } from "../avatar.js";
import { h, replaceChildren, setText } from "../dom.js";
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

  constructor(
    private readonly store: ChatStore,
    private readonly hooks: SidebarHooks,
  ) {
    this.roomList = h("ul", { class: "room-list", attrs: { "aria-labelledby": "rooms-heading" } });
    this.dmList = h("ul", { class: "room-list", attrs: { "aria-labelledby": "dms-heading" } });
    this.dmHint = h("p", { class: "hint" }, "Click a person, or type ", h("kbd", {}, "@name hello"), " in a message.");
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
    replaceChildren(this.roomList, ...rooms.map((r) => this.item(r)));
    replaceChildren(this.dmList, ...dms.map((r) => this.item(r)));
    this.dmHint.hidden = dms.length > 0;
  }

  private item(room: RoomState): HTMLLIElement {
    const active = this.store.active === room.name;
    const icon = room.peer !== undefined ? avatar(room.peer, "s", this.store.avatarUrl(room.peer)) : h("span", { class: "room-icon", attrs: { "aria-hidden": "true" } }, "#");
    const label = room.peer !== undefined ? (room.peer === this.store.me ? `${room.peer} (you)` : room.peer) : room.name;
    return h(
      "li",
      {},
      h(
        "button",
        {
          class: `room-link${room.unread > 0 ? " has-unread" : ""}`,
          attrs: { type: "button", "aria-current": active ? "page" : undefined, "data-room": room.name },
          on: {
            click: () => {
              this.store.setActive(room.name);
              this.hooks.chosen();
            },
          },
        },
        icon,
        h("span", { class: "room-name" }, label),
        room.unread > 0 && h("span", { class: "badge" }, String(room.unread > 99 ? "99+" : room.unread), h("span", { class: "sr-only" }, " unread")),
      ),
    );
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
