import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatPage } from "./support/chat-page.js";
import { WebCluster } from "./support/cluster.js";

/*
 * Conversations that survive (issue 14), in browsers through HAProxy and 3 gateways: unread and
 * mention counts kept by the server, read state shared by every tab and node, "Seen" in DMs,
 * guest names held by one browser, and reloads that nobody else notices.
 */

/** In the page before the app: a switch for `document.hidden`, and a log of notifications. */
const HIDE_AND_RECORD = `(() => {
  let hidden = false;
  Object.defineProperty(document, "hidden", { get: () => hidden });
  Object.defineProperty(document, "visibilityState", { get: () => (hidden ? "hidden" : "visible") });
  window.__hide = (value) => { hidden = value; document.dispatchEvent(new Event("visibilitychange")); };
  window.__notified = [];
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) { super(title, options); window.__notified.push(title + ": " + (options?.body ?? "")); }
  };
})()`;

/** How long a disconnect may last before others are told "left" (the gateway default). */
const PRESENCE_GRACE_MS = 5000;

describe("conversations in the browser on a 3-node cluster behind HAProxy", () => {
  let cluster: WebCluster;
  let alice: ChatPage;
  let bob: ChatPage;

  beforeAll(async () => {
    cluster = await WebCluster.start();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("keeps unread counts across a reload, and a reload tells nobody left or joined", async () => {
    alice = await ChatPage.open(cluster.browser, cluster.url, "alice");
    await alice.join();
    await alice.node();
    await alice.openRoom("dev");
    await alice.log("#dev").waitFor();
    await alice.roomButton("lobby").click();
    bob = await ChatPage.open(cluster.browser, cluster.url, "bob");
    await bob.join();
    await bob.node();
    await bob.openRoom("dev");
    await bob.say("first in dev");
    await bob.say("second in dev");
    await expect.poll(() => alice.unread("dev")).toBe(2);
    await bob.roomButton("lobby").click();
    await bob.person("alice").waitFor();

    const noticesBefore = await bob.notices("#lobby").allTextContents();
    await alice.page.reload();
    await alice.node();
    // Still 2 after the reload: the count is the server's, not the tab's.
    await expect.poll(() => alice.unread("dev")).toBe(2);
    await expect.poll(() => alice.heading()).toBe("#lobby");
    await alice.say("back from a reload");
    await bob.log("#lobby").getByText("back from a reload").waitFor();
    // Past the grace period, nobody was told alice left or joined.
    await bob.page.waitForTimeout(PRESENCE_GRACE_MS + 1000);
    expect(await bob.notices("#lobby").allTextContents()).toEqual(noticesBefore);
    await bob.person("alice").waitFor();

    // Opening #dev shows the "new messages" divider above the first unread message, and reads it.
    await alice.roomButton("dev").click();
    const divider = alice.log("#dev").locator(".divider");
    await divider.waitFor();
    expect(await alice.log("#dev").locator(".divider + .message .text").textContent()).toBe("first in dev");
    await expect.poll(() => alice.unread("dev")).toBe(0);
    await alice.screenshot("10-new-messages.png");
    expect(await alice.accessibilityViolations()).toEqual([]);
    await alice.page.reload();
    await alice.node();
    await alice.log("#dev").getByText("second in dev").waitFor();
    expect(await alice.unread("dev")).toBe(0);
    await alice.roomButton("lobby").click();
  });

  it("shows an offline user the DM and the mention they got, at login", async () => {
    const zed = await ChatPage.open(cluster.browser, cluster.url, "zed");
    await zed.join();
    await zed.node();
    await zed.log("#lobby").waitFor();
    await zed.openRoom("random");
    await zed.log("#random").waitFor();
    // Zed closes his tab: offline, but the browser (its storage) stays.
    const context = zed.page.context();
    await zed.page.close();
    await bob.log("#lobby").getByText("zed left").waitFor({ timeout: PRESENCE_GRACE_MS + 10_000 });

    await alice.say("/dm zed are you around, zed?");
    await alice.log("@zed").getByText("are you around, zed?").waitFor();
    await bob.say("@zed the build is red again");
    await bob.log("#lobby").getByText("the build is red again", { exact: false }).waitFor();

    const back = await ChatPage.inContext(context, cluster.url, "zed");
    await back.page.getByRole("button", { name: "Join the chat" }).click();
    await back.node();
    await expect.poll(() => back.heading()).toBe("#random");
    await expect.poll(() => back.unread("dm:alice:zed")).toBe(1);
    await expect.poll(() => back.mentions("lobby")).toBe(1);
    expect(await back.unread("lobby")).toBeGreaterThanOrEqual(1);
    await back.screenshot("11-offline-login.png");
    expect(await back.accessibilityViolations()).toEqual([]);
    await back.roomButton("lobby").click();
    const mention = back.log("#lobby").locator(".message.mentions-me");
    await mention.getByText("the build is red again", { exact: false }).waitFor();
    await expect.poll(() => back.mentions("lobby")).toBe(0);
    await back.roomButton("dm:alice:zed").click();
    await back.log("@alice").getByText("are you around, zed?").waitFor();
    // Alice sees that zed read it.
    await alice.log("@zed").locator(".seen").waitFor();
    await alice.screenshot("12-seen.png");
    await back.close();
  });

  it("clears a badge on every tab when one tab reads, across nodes", async () => {
    await alice.roomButton("lobby").click();
    const first = await alice.node();
    let second = await alice.openTab();
    // leastconn puts a new connection on the least busy node; make sure this one is another.
    for (let tries = 0; tries < 4 && (await second.node()) === first; tries += 1) {
      await second.page.close();
      second = await alice.openTab();
    }
    expect(await second.node()).not.toBe(first);
    await second.roomButton("lobby").click();

    await bob.roomButton("dev").click();
    await bob.say("third in dev");
    await expect.poll(() => alice.unread("dev")).toBe(1);
    await expect.poll(() => second.unread("dev")).toBe(1);
    await alice.roomButton("dev").click();
    await expect.poll(() => alice.unread("dev")).toBe(0);
    await expect.poll(() => second.unread("dev")).toBe(0);
    await second.page.close();
  });

  it("notifies on the desktop for DMs and mentions while the page is hidden", async () => {
    const carol = await ChatPage.open(cluster.browser, cluster.url, "carol", { permissions: ["notifications"] });
    // Headless Chromium never hides a page: the test hides it, and notes each notification the
    // app creates (the real Notification API still runs).
    await carol.page.addInitScript(HIDE_AND_RECORD);
    await carol.page.reload();
    await carol.join();
    await carol.node();
    await carol.log("#lobby").waitFor();
    await carol.page.evaluate("window.__hide(true)");

    await bob.roomButton("lobby").click();
    await bob.say("nothing for carol here");
    await alice.say("/dm carol a private word, carol");
    await bob.say("@carol can you look at this?");
    // Two: the DM and the mention (they travel different paths, so in either order).
    await expect.poll(async () => (await carol.page.evaluate<string[]>("window.__notified")).sort()).toEqual([
      "alice: a private word, carol",
      "bob in #lobby: @carol can you look at this?",
    ]);
    // Back on the page: what it shows is read, and the notifications it had are closed.
    await carol.page.evaluate("window.__hide(false)");
    await expect.poll(() => carol.mentions("lobby")).toBe(0);
    await carol.close();
  });

  it("refuses a guest name another browser is using, and lets that browser keep it", async () => {
    const impostor = await ChatPage.open(cluster.browser, cluster.url, "alice");
    await impostor.join();
    const refusal = impostor.page.getByRole("alert").filter({ hasText: "The name alice is in use in another browser" });
    await refusal.waitFor();
    expect(await impostor.page.getByLabel("Your name").getAttribute("aria-invalid")).toBe("true");
    await impostor.screenshot("13-name-taken.png");
    expect(await impostor.accessibilityViolations()).toEqual([]);
    // The real alice was not disturbed.
    await bob.roomButton("dev").click();
    await alice.roomButton("dev").click();
    await alice.say("still me");
    await bob.log("#dev").getByText("still me").waitFor();
    // Another name works in that browser.
    await impostor.page.getByLabel("Your name").fill("alicia");
    await impostor.page.getByRole("button", { name: "Join the chat" }).click();
    await impostor.node();
    await impostor.close();
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  });
});
