import { h } from "./dom.js";
import { emojify } from "./emoji.js";
import { splitMentions } from "./names.js";

/**
 * A message's text as nodes: emoji shortcodes replaced, `@name` mentions marked (and marked
 * again when they name the reader). Text only: every part becomes a Text node.
 */
export function messageText(text: string, mentioned: readonly string[], me: string): Node[] {
  return splitMentions(text, mentioned).map((part) =>
    part.mention === undefined
      ? document.createTextNode(emojify(part.text))
      : h("span", { class: part.mention === me ? "mention mention-me" : "mention" }, part.text),
  );
}
