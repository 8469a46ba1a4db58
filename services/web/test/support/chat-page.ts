import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, BrowserContextOptions, LaunchOptions, Locator, Page } from "playwright-core";
import { axeViolations } from "./axe.js";

const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
export const SCREENSHOTS = join(REPO_ROOT, "test-artifacts", "screenshots");
export const WEB_DIST = fileURLToPath(new URL("../../dist/", import.meta.url));

/** Chromium as the brief prescribes: Debian's build, headless, quiet, no sandbox (root in CI). */
export const CHROMIUM = {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
} satisfies LaunchOptions;

/**
 * One person in one browser context, driven the way a person uses the app: through labels,
 * roles and visible text. Records every dialog (alert/confirm) the page tried to open.
 */
export class ChatPage {
  readonly dialogs: string[] = [];
  readonly errors: string[] = [];
  /** Every text frame the page's WebSockets received from the server, in arrival order. */
  readonly frames: string[] = [];

  private constructor(
    readonly page: Page,
    readonly name: string,
  ) {
    page.on("dialog", (dialog) => {
      this.dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on("pageerror", (err) => this.errors.push(err.message));
    // Attached before the page loads (every factory below navigates after constructing), so the
    // first frame (`welcome`) is recorded too.
    page.on("websocket", (ws) => {
      ws.on("framereceived", (frame) => {
        if (typeof frame.payload === "string") this.frames.push(frame.payload);
      });
    });
  }

  static async open(browser: Browser, baseUrl: string, name: string, options: BrowserContextOptions = {}): Promise<ChatPage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const chat = new ChatPage(page, name);
    await page.goto(baseUrl);
    return chat;
  }

  /** A new tab in an existing browser context (its storage, cookies and guest key kept). */
  static async inContext(context: BrowserContext, baseUrl: string, name: string): Promise<ChatPage> {
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const chat = new ChatPage(page, name);
    await page.goto(baseUrl);
    return chat;
  }

  /**
   * Another tab of the same browser (same storage and guest key): it opens on the join screen,
   * filled in with this person's name, and joins.
   */
  async openTab(): Promise<ChatPage> {
    const page = await this.page.context().newPage();
    page.setDefaultTimeout(15_000);
    const tab = new ChatPage(page, this.name);
    await page.goto(this.page.url());
    await page.getByRole("button", { name: "Join the chat" }).click();
    return tab;
  }

  /** The server frames received so far, parsed (in arrival order). */
  envelopes(): Record<string, unknown>[] {
    return this.frames.map((f) => JSON.parse(f) as Record<string, unknown>);
  }

  /** This tab's session id (`welcome.session`) on its latest connection. */
  session(): string {
    const welcome = this.envelopes().findLast((e) => e.type === "welcome");
    if (typeof welcome?.session !== "string") throw new Error(`${this.name}: no welcome received yet`);
    return welcome.session;
  }

  /** The messages a room's log shows, top to bottom: offset, sender and text of each. */
  shownMessages(room: string): Promise<{ offset: number; from: string; text: string }[]> {
    return this.page.evaluate<{ offset: number; from: string; text: string }[]>(`(() => {
      const items = document.querySelectorAll('[role="log"][data-room=' + ${JSON.stringify(JSON.stringify(room))} + '] .messages li.message');
      return [...items].map((li) => ({ offset: Number(li.dataset.offset), from: li.dataset.from ?? "", text: li.querySelector(".text")?.textContent ?? "" }));
    })()`);
  }

  async join(email = ""): Promise<void> {
    await this.page.getByLabel("Your name").fill(this.name);
    if (email !== "") await this.page.getByLabel("Email").fill(email);
    await this.page.getByRole("button", { name: "Join the chat" }).click();
  }

  /** The status bar text ("Connected to node-2", "Reconnecting…"). */
  get status(): Locator {
    return this.page.getByTestId("connection");
  }

  /** Waits until connected and returns the node named in the status bar. */
  async node(timeoutMs = 15_000): Promise<string> {
    await this.status.filter({ hasText: /^Connected to \S+$/ }).waitFor({ timeout: timeoutMs });
    const text = (await this.status.textContent()) ?? "";
    return text.replace(/^Connected to /, "");
  }

  /** Waits until connected to a node other than `old` (after a failover) and returns it. */
  async nodeOtherThan(old: string, timeoutMs = 30_000): Promise<string> {
    const escaped = old.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    await this.status.filter({ hasText: new RegExp(`^Connected to (?!${escaped}$)\\S+$`) }).waitFor({ timeout: timeoutMs });
    return ((await this.status.textContent()) ?? "").replace(/^Connected to /, "");
  }

  get composer(): Locator {
    return this.page.getByRole("textbox", { name: /^Message / });
  }

  async say(text: string): Promise<void> {
    await this.composer.fill(text);
    await this.composer.press("Enter");
  }

  /** The message list of a room, by its label: `#lobby`, `@bob`. */
  log(label: string): Locator {
    return this.page.getByRole("log", { name: `Messages in ${label}` });
  }

  /** The "joined"/"left" notices shown in a room. */
  notices(label: string): Locator {
    return this.log(label).locator(".notice .notice-text");
  }

  /** Message texts shown in a room, top to bottom (sent and acknowledged ones). */
  texts(label: string): Locator {
    return this.log(label).locator(".messages .message .text");
  }

  /** A room or DM in the sidebar (its accessible name includes the unread count). */
  roomButton(room: string): Locator {
    return this.page.locator(`#rooms-panel .room-link[data-room="${room}"]`);
  }

  /** The unread count on a room's sidebar entry (0 when it shows none). */
  async unread(room: string): Promise<number> {
    return badgeCount(this.roomButton(room).locator(".unread-badge"));
  }

  /** The mention count on a room's sidebar entry (0 when it shows none). */
  async mentions(room: string): Promise<number> {
    return badgeCount(this.roomButton(room).locator(".mention-badge"));
  }

  /** A person in the active room's people list, by the name it shows. */
  person(user: string): Locator {
    return this.page.locator("#people-panel").getByRole("button", { name: new RegExp(`^${user}( you)?$`) });
  }

  /** The heading of the conversation on screen (`#lobby`, `@bob`). */
  async heading(): Promise<string | null> {
    return this.page.getByRole("heading", { level: 1 }).textContent();
  }

  /** A description of the element that has keyboard focus (its room, user or tag). */
  async focused(): Promise<string> {
    return this.page.evaluate<string>(`(() => {
      const el = document.activeElement;
      if (el === null) return "none";
      return el.dataset.room !== undefined ? "room:" + el.dataset.room : el.dataset.user !== undefined ? "user:" + el.dataset.user : el.tagName.toLowerCase();
    })()`);
  }

  /** axe-core's violations on what the page shows now (empty when clean). */
  accessibilityViolations(): Promise<string[]> {
    return axeViolations(this.page);
  }

  async openRoom(room: string): Promise<void> {
    await this.page.getByLabel("Join or create a room").fill(room);
    await this.page.getByRole("button", { name: "Join", exact: true }).click();
  }

  async screenshot(file: string): Promise<void> {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await this.page.screenshot({ path: join(SCREENSHOTS, file) });
  }

  async close(): Promise<void> {
    await this.page.context().close();
  }
}

async function badgeCount(badge: Locator): Promise<number> {
  if (!(await badge.isVisible())) return 0;
  return Number.parseInt(((await badge.textContent()) ?? "").replace(/^@/, ""), 10);
}
