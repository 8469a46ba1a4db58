import { avatar } from "../avatar.js";
import { h, replaceChildren, setText } from "../dom.js";
import { roomLabel } from "../names.js";
import type { ChatStore } from "../store.js";

export interface PeoplePanelHooks {
  readonly chosen: () => void;
}

/** The right column: who is in the active room now; clicking someone opens a DM with them. */
export class PeoplePanel {
  readonly el: HTMLElement;
  private readonly heading: HTMLHeadingElement;
  private readonly list: HTMLUListElement;

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
      h("p", { class: "hint" }, "Choose someone to send them a direct message."),
    );
    store.on("presence", (room) => {
      if (room.name === store.active) this.render();
    });
    store.on("rooms", () => this.render());
    this.render();
  }

  render(): void {
    const room = this.store.activeRoom;
    if (room === undefined) {
      setText(this.heading, "People");
      replaceChildren(this.list);
      return;
    }
    setText(this.heading, `In ${roomLabel(room.name, this.store.me)} · ${room.members.length} online`);
    replaceChildren(
      this.list,
      ...room.members.map((user) => {
        const self = user === this.store.me;
        return h(
          "li",
          {},
          h(
            "button",
            {
              class: "person",
              attrs: { type: "button", "data-user": user, "aria-label": self ? `${user} (you): open your notes` : `Message ${user}` },
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
      }),
    );
  }
}
