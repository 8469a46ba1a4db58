/**
 * Desktop notifications for DMs and mentions, shown only while the page is hidden and only
 * after the person allowed them (the permission is asked from a button, never on load).
 */
export class Notifier {
  private readonly shown = new Map<string, Notification>();

  get permission(): NotificationPermission | "unsupported" {
    return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
  }

  async ask(): Promise<NotificationPermission | "unsupported"> {
    if (typeof Notification === "undefined") return "unsupported";
    return Notification.requestPermission();
  }

  /** One notification per conversation at a time (`tag`): a newer one replaces it. */
  notify(tag: string, title: string, body: string, open: () => void): void {
    if (!document.hidden || this.permission !== "granted") return;
    try {
      const note = new Notification(title, { body, tag });
      note.addEventListener("click", () => {
        globalThis.focus();
        open();
        note.close();
      });
      this.shown.get(tag)?.close();
      this.shown.set(tag, note);
    } catch {
      // Some browsers allow notifications only from a service worker: then there are none.
    }
  }

  /** The conversation was read: its notification is old news. */
  clear(tag: string): void {
    this.shown.get(tag)?.close();
    this.shown.delete(tag);
  }
}
