/**
 * The whole view layer rests on this helper. Children that are strings become Text nodes and
 * attributes are set one by one, so data from the network can only ever be text: nothing in the
 * app assigns innerHTML, outerHTML or insertAdjacentHTML.
 */
export type Child = Node | string | false | null | undefined;

export interface Props {
  /** Space-separated class names. */
  readonly class?: string;
  /** Attributes (aria-*, data-*, type, ...); `false`/`undefined` leave one out, `true` sets it empty. */
  readonly attrs?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** Event listeners, by event name. */
  readonly on?: { readonly [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class !== undefined) el.className = props.class;
  if (props.attrs !== undefined) setAttrs(el, props.attrs);
  if (props.on !== undefined) {
    for (const [name, handler] of Object.entries(props.on)) {
      if (handler !== undefined) el.addEventListener(name, handler as EventListener);
    }
  }
  append(el, ...children);
  return el;
}

export function setAttrs(el: Element, attrs: Readonly<Record<string, string | number | boolean | undefined>>): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) el.removeAttribute(name);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue;
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** Replaces every child of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((c): c is Node | string => c !== false && c !== null && c !== undefined));
}

/** Sets an element's text (never markup), touching the DOM only when it changed. */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * Puts `items` into `parent` in order, moving only the elements that are out of place, so a
 * list updates in place instead of being rebuilt; the elements are the caller's (kept by key),
 * so their state survives. Moving a focused element blurs it, and removing one drops focus to
 * <body>: afterwards focus goes back to that element, or to the item that took the removed
 * one's place, so a keyboard user stays where they were.
 */
export function placeChildren(parent: Element, items: readonly Element[]): void {
  const focused = document.activeElement;
  const children = [...parent.children];
  const focusIndex = focused instanceof HTMLElement ? children.findIndex((child) => child.contains(focused)) : -1;
  const wanted = new Set<Element>(items);
  for (const child of children) if (!wanted.has(child)) child.remove();
  items.forEach((item, i) => {
    const at = parent.children[i];
    if (at !== item) parent.insertBefore(item, at ?? null);
  });
  if (focusIndex < 0 || !(focused instanceof HTMLElement) || document.activeElement === focused) return;
  const target = focused.isConnected ? focused : focusable(items[Math.min(focusIndex, items.length - 1)]);
  target?.focus({ preventScroll: true });
}

function focusable(el: Element | undefined): HTMLElement | undefined {
  if (el === undefined) return undefined;
  if (el instanceof HTMLElement && el.matches("button, a[href], input, textarea, [tabindex]")) return el;
  return el.querySelector<HTMLElement>("button, a[href], input, textarea, [tabindex]") ?? undefined;
}
