import { Limits } from "@parley/protocol";
import { h, replaceChildren, setText } from "../dom.js";
import { roomLabel } from "../names.js";
import type { ChatStore, RoomState } from "../store.js";
import { RoomLog } from "./room-log.js";

export interface ConversationHooks {
  readonly toggleRooms: () => void;
  readonly togglePeople: () => void;
}

/** The middle column: room header, the active room's messages, who is typing, the composer. */
export class Conversation {
  readonly el: HTMLElement;
  readonly roomsToggle: HTMLButtonElement;
  readonly peopleToggle: HTMLButtonElement;
  private readonly title: HTMLHeadingElement;
  private readonly subtitle: HTMLSpanElement;
  private readonly leave: HTMLButtonElement;
  private readonly logHost: HTMLDivElement;
  private readonly jump: HTMLButtonElement;
  private readonly typingLine: HTMLParagraphElement;
  private readonly input: HTMLTextAreaElement;
  private readonly inputLabel: HTMLLabelElement;
  private readonly logs = new Map<string, RoomLog>();
  private current: RoomLog | undefined;

  constructor(
    private readonly store: ChatStore,
    hooks: ConversationHooks,
  ) {
    this.roomsToggle = h(
      "button",
      { class: "icon-button drawer-toggle", attrs: { type: "button", "aria-controls": "rooms-panel", "aria-expanded": "false" }, on: { click: () => hooks.toggleRooms() } },
      h("span", { attrs: { "aria-hidden": "true" } }, "☰"),
      h("span", { class: "sr-only" }, "Rooms"),
    );
    this.peopleToggle = h(
      "button",
      { class: "button subtle drawer-toggle", attrs: { type: "button", "aria-controls": "people-panel", "aria-expanded": "false" }, on: { click: () => hooks.togglePeople() } },
      "People",
    );
    this.title = h("h1", { class: "room-title" });
    this.subtitle = h("span", { class: "room-sub" });
    this.leave = h("button", { class: "button subtle", attrs: { type: "button" }, on: { click: () => this.leaveActive() } }, "Leave");
    this.logHost = h("div", { class: "log-host" });
    this.jump = h("button", { class: "jump", attrs: { type: "button", hidden: true }, on: { click: () => this.current?.scrollToBottom() } });
    this.typingLine = h("p", { class: "typing", attrs: { "aria-live": "polite" } });
    this.inputLabel = h("label", { class: "sr-only", attrs: { for: "composer-input" } });
    this.input = h("textarea", {
      attrs: { id: "composer-input", rows: 1, maxlength: Limits.maxTextLength, autocomplete: "off", "aria-describedby": "composer-help" },
      on: {
        keydown: (e) => this.onKey(e),
        input: () => {
          this.autosize();
          if (this.input.value.trim() !== "" && !this.input.value.startsWith("/")) store.typing();
        },
      },
    });
    const composer = h(
      "form",
      { class: "composer", on: { submit: (e) => this.submit(e) } },
      this.inputLabel,
      this.input,
      h("button", { class: "button primary", attrs: { type: "submit" } }, "Send"),
    );
    const help = h(
      "p",
      { class: "composer-help", attrs: { id: "composer-help" } },
      h("kbd", {}, "Enter"),
      " sends · ",
      h("kbd", {}, "Shift+Enter"),
      " new line · ",
      h("kbd", {}, "@name"),
      " mention · ",
      h("kbd", {}, "/dm name text"),
      " direct message · ",
      h("kbd", {}, ":smile:"),
      " emoji · ",
      h("kbd", {}, "Alt+↑↓"),
      " switch rooms",
    );
    this.el = h(
      "main",
      { class: "conversation" },
      h("header", { class: "room-header" }, this.roomsToggle, h("div", { class: "room-heading" }, this.title, this.subtitle), this.peopleToggle, this.leave),
      h("div", { class: "log-frame" }, this.logHost, this.jump),
      this.typingLine,
      composer,
      help,
    );

    store.on("rooms", () => this.show());
    store.on("messages", (room, messages, source) => this.log(room).addMessages(messages, source));
    store.on("history", (room) => this.log(room).renderTop());
    store.on("notice", (room, notice) => this.log(room).addNotice(notice));
    store.on("outgoing", (item) => {
      const room = store.rooms.get(item.room);
      if (room !== undefined) this.log(room).showOutgoing(item);
    });
    store.on("outgoingDone", (item) => this.logs.get(item.room)?.removeOutgoing(item));
    store.on("receipt", (room) => this.log(room).setSeen(room.peerRead));
    store.on("presence", (room) => {
      if (room.name === store.active) this.renderHeader();
    });
    store.on("typing", (room) => {
      if (room.name === store.active) this.renderTyping();
    });
    this.show();
  }

  focusComposer(): void {
    this.input.focus();
  }

  /** Puts the active room's log on screen (each room keeps its own scroll position). */
  private show(): void {
    const room = this.store.activeRoom;
    for (const [name, log] of this.logs) {
      if (!this.store.rooms.has(name)) {
        log.dispose();
        this.logs.delete(name);
      }
    }
    const next = room === undefined ? undefined : this.log(room);
    if (next !== this.current) {
      this.current?.detach();
      this.current = next;
      if (next !== undefined) next.attach(this.logHost);
      else replaceChildren(this.logHost, h("p", { class: "empty" }, "Join a room to start chatting."));
    }
    for (const [name, log] of this.logs) log.setDivider(this.store.rooms.get(name)?.newAfter);
    this.renderHeader();
    this.renderTyping();
    this.renderJump();
  }

  private log(room: RoomState): RoomLog {
    let log = this.logs.get(room.name);
    if (log === undefined) {
      log = new RoomLog(room, roomLabel(room.name, this.store.me), {
        me: this.store.me,
        avatarUrl: (user) => this.store.avatarUrl(user),
        loadOlder: () => void this.store.loadOlder(room),
        retry: (item) => this.store.retry(item),
        discard: (item) => this.store.discard(item),
        onPosition: () => {
          if (this.current === log) this.renderJump();
        },
      });
      this.logs.set(room.name, log);
      for (const item of this.store.outgoingIn(room.name)) log.showOutgoing(item);
    }
    return log;
  }

  private renderHeader(): void {
    const room = this.store.activeRoom;
    const label = room === undefined ? "Parley" : roomLabel(room.name, this.store.me);
    setText(this.title, label);
    setText(this.subtitle, room === undefined ? "" : room.peer !== undefined ? "direct message" : `${room.members.length} online`);
    this.leave.hidden = room === undefined;
    this.leave.setAttribute("aria-label", `Leave ${label}`);
    setText(this.inputLabel, `Message ${label}`);
    this.input.placeholder = room === undefined ? "Join a room first" : `Message ${label}`;
    this.input.disabled = room === undefined;
  }

  private renderTyping(): void {
    const users = [...(this.store.activeRoom?.typing.keys() ?? [])].sort();
    const text =
      users.length === 0
        ? ""
        : users.length === 1
          ? `${users[0]} is typing…`
          : users.length <= 3
            ? `${users.slice(0, -1).join(", ")} and ${users.at(-1)} are typing…`
            : "Several people are typing…";
    setText(this.typingLine, text);
  }

  private renderJump(): void {
    const log = this.current;
    const unseen = log?.unseen ?? 0;
    this.jump.hidden = log === undefined || log.pinned;
    setText(this.jump, unseen > 0 ? `${unseen} new message${unseen === 1 ? "" : "s"} ↓` : "Jump to latest ↓");
  }

  private onKey(event: KeyboardEvent): void {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.input.form?.requestSubmit();
    }
  }

  private submit(event: SubmitEvent): void {
    event.preventDefault();
    const text = this.input.value.trim();
    if (text === "") return;
    const refused = this.store.submit(text);
    if (refused !== undefined) {
      this.store.emit("problem", refused);
      return;
    }
    this.input.value = "";
    this.autosize();
    // Whoever just wrote wants to see the conversation's end (and their message in it).
    this.current?.scrollToBottom();
  }

  private autosize(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }

  private leaveActive(): void {
    const room = this.store.activeRoom;
    if (room !== undefined) this.store.leaveRoom(room.name);
  }
}
