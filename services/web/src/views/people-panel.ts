import { avatar } from "../avatar.js";
import { h, placeChildren, setText } from "../dom.js";
import { roomLabel } from "../names.js";
import type { ChatStore } from "../store.js";

export interface PeoplePanelHooks {
  readonly chosen: () => void;
}

/**
 * The right column: who is in the active room now; clicking someone opens a DM with them.
 * One element per person, kept while they stay, so an update never takes focus away.
 */
export class PeoplePanel {
  readonly el: HTMLElement;
  private readonly heading: HTMLHeadingElement;
  private readonly list: HTMLUListElement;
  private readonly items = new Map<string, HTMLLIElement>();

  constructor(
    private readonly store: ChatStore,
    private readonly hooks: PeoplePanelHooks,
  ) {
    this.heading = h("h2", { attrs: { id: "people-heading" } });
    this.list = h("ul", { class: "people-list", attrs: { "aria-labelledby": "people-heading" } });
    this.el = h(
      "aside",
      { class: "people", attrs: { id: "people-panel", "aria-labelledby": "people-heading" } },
      this.heading,
      this.list,
      h("p", { class: "hint", attrs: { id: "people-hint" } }, "Choose someone to send them a direct message."),
    );
    store.on("presence", (room) => {
      if (room.name === store.active) this.render();
    });
    store.on("rooms", () => this.render());
    this.render();
  }

  render(): void {
    const room = this.store.activeRoom;
    setText(this.heading, room === undefined ? "People" : `In ${roomLabel(room.name, this.store.me)} · ${room.members.length} online`);
    const members = room?.members ?? [];
    for (const user of this.items.keys()) if (!members.includes(user)) this.items.delete(user);
    placeChildren(
      this.list,
      members.map((user) => this.item(user)),
    );
  }

  /**
   * A person's button. Its accessible name is exactly what it shows ("bob", "alice you"), so
   * speech control users can say what they see; what it does is its description (the hint).
   */
  private item(user: string): HTMLLIElement {
    let item = this.items.get(user);
    if (item !== undefined) return item;
    const self = user === this.store.me;
    item = h(
      "li",
      {},
      h(
        "button",
        {
          class: "person",
          attrs: { type: "button", "data-user": user, "aria-describedby": "people-hint" },
          on: {
            click: () => {
              this.store.openDirect(user);
              this.hooks.chosen();
            },
          },
        },
        avatar(user, "s", this.store.avatarUrl(user)),
        h("span", { class: "person-name" }, user),
        self && h("span", { class: "you" }, "you"),
        h("span", { class: "online-dot", attrs: { "aria-hidden": "true" } }),
      ),
    );
    this.items.set(user, item);
    return item;
  }
}
