import { h } from "../dom.js";
import type { ChatStore } from "../store.js";
import { Conversation } from "./conversation.js";
import { PeoplePanel } from "./people-panel.js";
import { Sidebar } from "./sidebar.js";
import { StatusBar } from "./status-bar.js";

type Drawer = "none" | "rooms" | "people";

/**
 * The chat screen: three columns on a wide screen; on a phone the room list and the people
 * list become drawers over the conversation, opened from its header.
 */
export class ChatView {
  readonly el: HTMLElement;
  private readonly conversation: Conversation;
  private drawer: Drawer = "none";
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly store: ChatStore,
    signOut: () => void,
  ) {
    const close = (): void => this.setDrawer("none");
    const sidebar = new Sidebar(store, { chosen: close, signOut });
    this.conversation = new Conversation(store, {
      toggleRooms: () => this.setDrawer(this.drawer === "rooms" ? "none" : "rooms"),
      togglePeople: () => this.setDrawer(this.drawer === "people" ? "none" : "people"),
    });
    const people = new PeoplePanel(store, { chosen: close });
    const status = new StatusBar(store);
    const scrim = h("div", { class: "scrim", attrs: { "aria-hidden": "true" }, on: { click: close } });
    this.el = h("div", { class: "chat", attrs: { "data-drawer": "none" } }, sidebar.el, this.conversation.el, people.el, scrim, status.el);

    const onKey = (e: KeyboardEvent): void => this.onKey(e);
    const onVisible = (): void => {
      if (!document.hidden) store.pageShown();
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("visibilitychange", onVisible);
    this.cleanups.push(
      () => document.removeEventListener("keydown", onKey),
      () => document.removeEventListener("visibilitychange", onVisible),
      store.on("rooms", () => this.updateTitle()),
    );
    this.updateTitle();
  }

  focus(): void {
    this.conversation.focusComposer();
  }

  dispose(): void {
    for (const cleanup of this.cleanups) cleanup();
    this.el.remove();
    document.title = "Parley";
  }

  private setDrawer(drawer: Drawer): void {
    this.drawer = drawer;
    this.el.dataset["drawer"] = drawer;
    this.conversation.roomsToggle.setAttribute("aria-expanded", String(drawer === "rooms"));
    this.conversation.peopleToggle.setAttribute("aria-expanded", String(drawer === "people"));
    if (drawer === "none") this.conversation.focusComposer();
    else this.el.querySelector<HTMLElement>(drawer === "rooms" ? "#rooms-panel button" : "#people-panel button")?.focus();
  }

  /** Escape closes a drawer; Alt+Up / Alt+Down move through the conversations. */
  private onKey(event: KeyboardEvent): void {
    if (event.key === "Escape" && this.drawer !== "none") {
      this.setDrawer("none");
      return;
    }
    if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    const buttons = [...this.el.querySelectorAll<HTMLButtonElement>(".room-link")];
    const names = buttons.map((b) => b.dataset["room"] ?? "");
    if (names.length === 0) return;
    event.preventDefault();
    const at = names.indexOf(this.store.active ?? "");
    const next = names[(at + (event.key === "ArrowDown" ? 1 : -1) + names.length) % names.length];
    if (next !== undefined) this.store.setActive(next);
  }

  private updateTitle(): void {
    const unread = this.store.totalUnread;
    document.title = unread > 0 ? `(${unread}) Parley` : "Parley";
  }
}
