import { Limits } from "@parley/protocol";
import { h, setText } from "../dom.js";
import { userNameProblem } from "../names.js";
import type { Profile } from "../persist.js";

/** The first screen: a name (and optionally an email for the Gravatar picture). */
export class JoinView {
  readonly el: HTMLElement;
  private readonly name: HTMLInputElement;
  private readonly error: HTMLParagraphElement;

  constructor(initial: Profile | undefined, onJoin: (profile: Profile) => void, problem?: string) {
    this.name = h("input", {
      attrs: {
        id: "join-name",
        name: "name",
        required: true,
        autocomplete: "username",
        autocapitalize: "off",
        spellcheck: "false",
        maxlength: Limits.maxUserLength,
        "aria-describedby": "join-name-help join-error",
        value: initial?.name,
      },
      on: {
        input: () => {
          setText(this.error, "");
          this.name.removeAttribute("aria-invalid");
        },
      },
    });
    const email = h("input", {
      attrs: { id: "join-email", name: "email", type: "email", autocomplete: "email", "aria-describedby": "join-email-help", value: initial?.email },
    });
    this.error = h("p", { class: "form-error", attrs: { id: "join-error", role: "alert" } });
    const form = h(
      "form",
      {
        class: "join-form",
        attrs: { novalidate: true, "aria-labelledby": "join-title" },
        on: {
          submit: (event) => {
            event.preventDefault();
            const profile = { name: this.name.value.trim(), email: email.value.trim() };
            const problem = userNameProblem(profile.name);
            if (problem !== undefined) {
              setText(this.error, problem);
              this.name.setAttribute("aria-invalid", "true");
              this.name.focus();
              return;
            }
            onJoin(profile);
          },
        },
      },
      h("div", { class: "brand" }, h("span", { class: "brand-mark", attrs: { "aria-hidden": "true" } }, "P"), h("h1", { attrs: { id: "join-title" } }, "Parley")),
      h("p", { class: "lede" }, "Chat rooms and direct messages that keep going when a server does not."),
      h("label", { attrs: { for: "join-name" } }, "Your name"),
      this.name,
      h("p", { class: "help", attrs: { id: "join-name-help" } }, `Up to ${Limits.maxUserLength} letters, digits, '.', '_' or '-'.`),
      h("label", { attrs: { for: "join-email" } }, "Email ", h("span", { class: "optional" }, "(optional)")),
      email,
      h("p", { class: "help", attrs: { id: "join-email-help" } }, "Only used for your Gravatar picture: it is hashed in this browser and never sent to Parley."),
      this.error,
      h("button", { class: "button primary wide", attrs: { type: "submit" } }, "Join the chat"),
    );
    this.el = h("main", { class: "join-screen" }, form);
    if (problem !== undefined) {
      setText(this.error, problem);
      this.name.setAttribute("aria-invalid", "true");
    }
  }

  focus(): void {
    this.name.focus();
  }
}
