import { h } from "./dom.js";

/**
 * Avatars: coloured initials always (no network needed), with the Gravatar image laid over them
 * once it loads. Gravatar is asked with `d=404`, so an address without a picture (or no network)
 * leaves the initials in place.
 */

/** SHA-256 of the trimmed, lower-cased address (Gravatar accepts SHA-256 as well as MD5). */
export async function gravatarUrl(email: string, pixels = 96): Promise<string | undefined> {
  const normalised = email.trim().toLowerCase();
  // Web Crypto exists only in secure contexts (https, localhost): elsewhere, initials only.
  const subtle = globalThis.crypto?.subtle as SubtleCrypto | undefined;
  if (normalised === "" || subtle === undefined) return undefined;
  const digest = await subtle.digest("SHA-256", new TextEncoder().encode(normalised));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `https://gravatar.com/avatar/${hex}?s=${pixels}&d=404`;
}

export function initials(name: string): string {
  const parts = name.split(/[._-]+/).filter((p) => p !== "");
  const letters = parts.length >= 2 ? `${parts[0]?.[0] ?? ""}${parts[1]?.[0] ?? ""}` : name.slice(0, 1);
  return letters.toUpperCase() || "?";
}

/** A stable hue per name, so a person keeps their colour on every screen. */
export function hue(name: string): number {
  let hash = 0;
  for (let i = 0; i < name.length; i += 1) hash = (Math.imul(hash, 31) + name.charCodeAt(i)) >>> 0;
  return hash % 360;
}

/** Image URLs that failed once: not asked again this session. */
const failed = new Set<string>();

export function avatar(name: string, size: "s" | "m" | "l", imageUrl?: string): HTMLElement {
  const el = h("span", { class: `avatar avatar-${size}`, attrs: { "aria-hidden": "true", "data-user": name } }, initials(name));
  el.style.setProperty("--avatar-hue", String(hue(name)));
  if (imageUrl !== undefined && !failed.has(imageUrl)) {
    const img = h("img", { attrs: { alt: "", src: imageUrl, referrerpolicy: "no-referrer", decoding: "async" } });
    img.addEventListener("load", () => el.classList.add("has-image"));
    img.addEventListener("error", () => {
      failed.add(imageUrl);
      img.remove();
    });
    el.append(img);
  }
  return el;
}
