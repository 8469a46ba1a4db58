import type { Browser, Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../gateway/test/support/free-port.js";
import type { GatewayProcess } from "../../gateway/test/support/gateway-process.js";
import { TestClient } from "../../gateway/test/support/test-client.js";
import { ChatPage } from "./support/chat-page.js";
import { WebCluster } from "./support/cluster.js";
import type { HaProxy } from "./support/haproxy.js";

/*
 * The browser app against a real cluster: Chromium -> HAProxy (leastconn, health checks on
 * /readyz) -> 3 gateway processes serving the built app -> one redis-server. The tests run in
 * order and share the cluster, like people in one chat.
 */

/** Text the status bar showed, recorded in the page as it changed (a reconnect can be brief). */
const RECORD_STATUS = `(() => {
  const el = document.querySelector('[data-testid="connection"]');
  window.__statusSeen = [el.textContent];
  new MutationObserver(() => window.__statusSeen.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
})()`;

describe("the browser chat app on a 3-node cluster behind HAProxy", () => {
  let cluster: WebCluster;
  let gateways: GatewayProcess[] = [];
  let proxy: HaProxy;
  let browser: Browser;
  let alice: ChatPage;
  let bob: ChatPage;

  beforeAll(async () => {
    cluster = await WebCluster.start({
      // The history test posts a few hundred messages quickly from one connection.
      PARLEY_RATE_PER_SECOND: "1000",
      PARLEY_RATE_BURST: "2000",
      PARLEY_USER_RATE_PER_SECOND: "1000",
      PARLEY_USER_RATE_BURST: "2000",
    });
    ({ gateways, proxy, browser } = cluster);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("two people land on different nodes, chat, see each other, and talk privately", async () => {
    alice = await ChatPage.open(browser, proxy.url, "alice");
    await alice.screenshot("01-join.png");
    expect(await alice.accessibilityViolations()).toEqual([]);
    await alice.join("alice@example.com");
    const aliceNode = await alice.node();

    bob = await ChatPage.open(browser, proxy.url, "bob");
    await bob.join();
    const bobNode = await bob.node();
    // leastconn: alice's socket holds one node, so bob's goes to another.
    expect(aliceNode).toMatch(/^node-\d$/);
    expect(bobNode).toMatch(/^node-\d$/);
    expect(bobNode).not.toBe(aliceNode);

    // Presence: each sees the other in the room's people list, and alice saw bob arrive.
    await alice.person("bob").waitFor();
    await bob.person("alice").waitFor();
    await alice.log("#lobby").getByText("bob joined").waitFor();
    // Bob gave no email: his avatar is his initial, drawn without any network.
    await expect.poll(() => bob.page.locator(".me .avatar").textContent()).toBe("B");

    await alice.say("hello bob :robot:");
    await bob.log("#lobby").getByText("hello bob 🤖", { exact: true }).waitFor();
    await expect.poll(() => bob.log("#lobby").locator(".message .message-from").first().textContent()).toBe("alice");

    // Typing indicator.
    await bob.composer.fill("hi al");
    await alice.page.getByText("bob is typing…").waitFor();
    await bob.composer.fill("hi alice :wave:");
    await bob.composer.press("Enter");
    await alice.log("#lobby").getByText("hi alice 👋", { exact: true }).waitFor();
    await alice.page.getByText("bob is typing…").waitFor({ state: "hidden" });

    // A new room, and an unread count for a room alice is not looking at.
    await alice.openRoom("random");
    await expect.poll(() => alice.page.getByRole("heading", { level: 1 }).textContent()).toBe("#random");
    await alice.roomButton("lobby").click();
    await bob.openRoom("random");
    await bob.say("anyone in random?");
    await expect.poll(() => alice.unread("random")).toBe(1);
    await alice.screenshot("02-chat.png");
    expect(await alice.accessibilityViolations()).toEqual([]);
    await alice.roomButton("random").click();
    await alice.log("#random").getByText("anyone in random?").waitFor();
    await expect.poll(() => alice.unread("random")).toBe(0);

    // A DM started by clicking a person.
    await alice.person("bob").click();
    await expect.poll(() => alice.page.getByRole("heading", { level: 1 }).textContent()).toBe("@bob");
    await alice.say("psst, this one is just for you :shushing_face:");
    await expect.poll(() => bob.unread("dm:alice:bob")).toBe(1);
    await bob.roomButton("dm:alice:bob").click();
    await bob.log("@alice").getByText("psst, this one is just for you 🤫").waitFor();

    // A DM started by typing `/dm alice ...` in another room: the view follows to the DM.
    await bob.roomButton("lobby").click();
    await bob.say("/dm alice got it, see you in the lobby");
    await expect.poll(() => bob.page.getByRole("heading", { level: 1 }).textContent()).toBe("@alice");
    await bob.log("@alice").getByText("got it, see you in the lobby", { exact: true }).waitFor();
    await alice.log("@bob").getByText("got it, see you in the lobby", { exact: true }).waitFor();
    await alice.screenshot("03-direct-message.png");
    expect(await alice.accessibilityViolations()).toEqual([]);
    // The DM never showed up in the room it was typed in.
    expect(await bob.texts("#lobby").allTextContents()).not.toContain("got it, see you in the lobby");

    // `@alice ...` in a room is a mention: it stays in the room, and alice sees it marked for her.
    await bob.roomButton("lobby").click();
    await bob.say("@alice can you review my PR? cc @carol");
    await bob.log("#lobby").getByText("can you review my PR?", { exact: false }).waitFor();
    expect(await bob.heading()).toBe("#lobby");
    await expect.poll(() => alice.mentions("lobby")).toBe(1);
    await expect.poll(() => alice.unread("lobby")).toBe(1);
    await alice.roomButton("lobby").click();
    const mention = alice.log("#lobby").locator(".message.mentions-me").filter({ hasText: "can you review my PR?" });
    await mention.waitFor();
    expect(await mention.locator(".mention-me").allTextContents()).toEqual(["@alice"]);
    expect(await mention.locator(".mention").allTextContents()).toEqual(["@alice", "@carol"]);
    await expect.poll(() => alice.mentions("lobby")).toBe(0);
    // Bob is not mentioned by his own message; nothing of it went to a DM.
    expect(await bob.log("#lobby").locator(".message.mentions-me").count()).toBe(0);
    expect(await alice.texts("@bob").allTextContents()).not.toContain("@alice can you review my PR? cc @carol");

    expect([...alice.errors, ...bob.errors]).toEqual([]);
  });

  it("shows markup in messages as text and runs none of it", async () => {
    await alice.roomButton("lobby").click();
    await bob.roomButton("lobby").click();
    const img = "<img src=x onerror=alert(1)>";
    const script = "<script>alert(1)</script>";
    await alice.say(img);
    await alice.say(script);
    for (const page of [alice, bob]) {
      await page.log("#lobby").getByText(img, { exact: true }).waitFor();
      await page.log("#lobby").getByText(script, { exact: true }).waitFor();
      expect(await page.page.locator('img[src="x"]').count()).toBe(0);
      expect(await page.log("#lobby").locator("script, img:not(.avatar img)").count()).toBe(0);
    }
    // An onerror handler would have fired by now; give a late one a moment to show itself.
    await bob.page.waitForTimeout(500);
    expect(alice.dialogs).toEqual([]);
    expect(bob.dialogs).toEqual([]);
  });

  it("keeps keyboard focus where it is while the room list and the people list update", async () => {
    await alice.roomButton("lobby").click();
    await bob.roomButton("lobby").click();
    // Focus on a room in the sidebar; an unread badge changes on it, and a new DM joins the list.
    await alice.roomButton("random").focus();
    await bob.roomButton("random").click();
    await bob.say("a badge for alice's focused room");
    await expect.poll(() => alice.unread("random")).toBe(1);
    expect(await alice.focused()).toBe("room:random");
    const dave = await TestClient.connect(gateways[1]?.url ?? "", { name: "dave" });
    dave.send({ type: "dm", to: "alice", text: "hi alice, it's dave", cid: "dave-1" });
    await alice.roomButton("dm:alice:dave").waitFor();
    expect(await alice.focused()).toBe("room:random");

    // Focus on a person; someone joins the room (sorted in before them), then leaves.
    await bob.roomButton("lobby").click();
    await alice.person("bob").focus();
    await dave.join("lobby");
    await alice.person("dave").waitFor();
    const archivist = await TestClient.connect(gateways[2]?.url ?? "", { name: "aaron" });
    await archivist.join("lobby");
    await alice.person("aaron").waitFor();
    expect(await alice.focused()).toBe("user:bob");
    archivist.close();
    await alice.person("aaron").waitFor({ state: "detached" });
    dave.close();
    await alice.person("dave").waitFor({ state: "detached" });
    expect(await alice.focused()).toBe("user:bob");
    expect(alice.errors).toEqual([]);
  });

  it("loads older history on scroll-back without moving the reader, and does not yank them down", async () => {
    const archivist = await TestClient.connect(gateways[0]?.url ?? "", { name: "archivist" });
    await archivist.join("archive");
    const total = 130;
    const line = (i: number): string => `archive message ${String(i).padStart(3, "0")}`;
    for (let i = 1; i <= total; i += 1) expect(await archivist.post("archive", line(i), `arc-${i}`)).toMatchObject({ type: "ack" });

    await alice.openRoom("archive");
    const log = alice.log("#archive");
    await log.getByText(line(total), { exact: true }).waitFor();
    // The first page is the latest 50.
    await expect.poll(() => alice.texts("#archive").count()).toBe(50);
    await expect(log.getByText(line(total), { exact: true }).isVisible()).resolves.toBe(true);

    // Scroll to the top: the next page goes in above, and the message that was at the top stays in view.
    const firstOfPage = log.getByText(line(total - 49), { exact: true });
    await log.focus();
    await alice.page.keyboard.press("Home");
    await expect.poll(() => alice.texts("#archive").count()).toBe(100);
    await expect.poll(() => inViewport(firstOfPage)).toBe(true);

    // Keep reading back to the start of the room, a page per trip to the top.
    for (let trip = 0; trip < 5 && (await alice.texts("#archive").count()) < total; trip += 1) {
      const before = await alice.texts("#archive").count();
      await alice.page.keyboard.press("Home");
      await expect.poll(() => alice.texts("#archive").count()).toBeGreaterThan(before);
    }
    await alice.page.keyboard.press("Home");
    await expect.poll(() => inViewport(log.getByText("This is the start of the room."))).toBe(true);
    const shown = await alice.texts("#archive").allTextContents();
    expect(shown).toEqual(Array.from({ length: total }, (_, i) => line(i + 1)));
    await alice.screenshot("04-history.png");
    expect(await alice.accessibilityViolations()).toEqual([]);

    // A reader scrolled up is not pulled down by a new message; a "new messages" button offers it.
    await archivist.post("archive", line(total + 1), `arc-${total + 1}`);
    const jump = alice.page.getByRole("button", { name: /1 new message/ });
    await jump.waitFor();
    expect(await inViewport(log.getByText(line(total + 1), { exact: true }))).toBe(false);
    expect(await inViewport(log.getByText(line(1), { exact: true }))).toBe(true);
    await jump.click();
    await expect.poll(() => inViewport(log.getByText(line(total + 1), { exact: true }))).toBe(true);
    archivist.close();

    // Switching rooms keeps each room's scroll position.
    await log.focus();
    await alice.page.keyboard.press("Home");
    await expect.poll(() => inViewport(log.getByText(line(1), { exact: true }))).toBe(true);
    await alice.roomButton("lobby").click();
    await alice.roomButton("archive").click();
    await expect.poll(() => inViewport(log.getByText(line(1), { exact: true }))).toBe(true);

    // From the keyboard: Alt+Down moves to the next conversation in the list (archive -> lobby).
    await alice.composer.focus();
    await alice.page.keyboard.press("Alt+ArrowDown");
    await expect.poll(() => alice.page.getByRole("heading", { level: 1 }).textContent()).toBe("#lobby");
  });

  it("survives a SIGKILL of bob's node: reconnecting, back on another node, every message exactly once", async () => {
    await alice.roomButton("lobby").click();
    await bob.roomButton("lobby").click();
    const bobNode = await bob.node();
    const victim = cluster.gatewayNamed(bobNode);
    expect(await alice.node()).not.toBe(bobNode);
    await bob.page.evaluate(RECORD_STATUS);

    // Freeze the node first so the messages below are certainly missed live by bob, then kill it.
    victim.proc.kill("SIGSTOP");
    const during = Array.from({ length: 5 }, (_, i) => `sent while bob's node was frozen #${i + 1}`);
    for (const text of during) await alice.say(text);
    await waitUntil("alice's messages to be acknowledged", async () => (await alice.page.locator(".outgoing").count()) === 0, 15_000);
    await victim.stop("SIGKILL");
    const after = Array.from({ length: 3 }, (_, i) => `sent right after the kill #${i + 1}`);
    for (const text of after) await alice.say(text);

    const newNode = await bob.nodeOtherThan(bobNode);
    expect(newNode).toMatch(/^node-\d$/);
    const seen = await bob.page.evaluate<string[]>("window.__statusSeen");
    expect(seen).toContain("Reconnecting…");

    for (const text of [...during, ...after]) {
      await bob.log("#lobby").getByText(text, { exact: true }).waitFor();
    }
    const texts = await bob.texts("#lobby").allTextContents();
    for (const text of [...during, ...after]) expect(texts.filter((t) => t === text)).toHaveLength(1);
    const order = [...during, ...after].map((t) => texts.indexOf(t));
    expect(order).toEqual([...order].sort((a, b) => a - b));

    await bob.say("back, and I missed nothing");
    await alice.log("#lobby").getByText("back, and I missed nothing", { exact: true }).waitFor();
    await bob.screenshot("05-after-failover.png");
  });

  it("keeps what is typed while offline and sends it once when back", async () => {
    await alice.roomButton("lobby").click();
    await bob.roomButton("lobby").click();
    await proxy.kill();
    await bob.status.filter({ hasText: "Reconnecting…" }).waitFor({ timeout: 15_000 });
    await alice.status.filter({ hasText: "Reconnecting…" }).waitFor({ timeout: 15_000 });

    const text = "typed while offline :zap:";
    await bob.say(text);
    await bob.page.locator(".outgoing").getByText("Sending…").waitFor();
    await bob.page.getByText("1 message waiting to send").waitFor();
    await bob.screenshot("06-reconnecting.png");
    expect(await bob.accessibilityViolations()).toEqual([]);

    await proxy.launch();
    await proxy.waitUp(gateways.filter((gw) => gw.alive).map((gw) => gw.nodeId));
    await bob.node(30_000);
    await alice.node(30_000);
    await bob.log("#lobby").getByText("typed while offline ⚡", { exact: true }).waitFor({ timeout: 30_000 });
    await alice.log("#lobby").getByText("typed while offline ⚡", { exact: true }).waitFor({ timeout: 30_000 });
    await bob.page.locator(".outgoing").waitFor({ state: "detached" });
    for (const page of [alice, bob]) {
      const texts = await page.texts("#lobby").allTextContents();
      expect(texts.filter((t) => t === "typed while offline ⚡")).toHaveLength(1);
    }
  });

  it("works at phone width: drawers for rooms and people, the conversation in between", async () => {
    // Dark mode on this one, so axe checks the dark palette too.
    const carol = await ChatPage.open(browser, proxy.url, "carol", { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: "dark" });
    await carol.join();
    await carol.node();
    await carol.log("#lobby").getByText("back, and I missed nothing").waitFor();
    // The room list is off screen until asked for.
    const rooms = carol.page.locator("#rooms-panel");
    expect(await rooms.isVisible()).toBe(false);
    await carol.say("hello from a phone :iphone:");
    await alice.log("#lobby").getByText("hello from a phone 📱").waitFor();
    await carol.screenshot("07-phone.png");
    expect(await carol.accessibilityViolations()).toEqual([]);
    await carol.page.getByRole("button", { name: "Rooms" }).click();
    await rooms.waitFor({ state: "visible" });
    await carol.page.waitForTimeout(300); // the drawer slides in
    await carol.screenshot("08-phone-rooms.png");
    expect(await carol.accessibilityViolations()).toEqual([]);
    await carol.page.keyboard.press("Escape");
    await rooms.waitFor({ state: "hidden" });
    await carol.page.getByRole("button", { name: "People" }).click();
    await carol.person("alice").click();
    await expect.poll(() => carol.page.getByRole("heading", { level: 1 }).textContent()).toBe("@alice");
    expect(carol.errors).toEqual([]);
    await carol.close();
    // Her only tab closed: the others are told she left.
    await alice.log("#lobby").getByText("carol left").waitFor();
    await alice.person("carol").waitFor({ state: "detached" });
  });
});

/** Whether any part of the element is inside its scrolling log's visible area. */
async function inViewport(locator: Locator): Promise<boolean> {
  const box = await locator.boundingBox();
  const frame = await locator.page().locator(".log-host").boundingBox();
  if (box === null || frame === null) return false;
  return box.y + box.height > frame.y && box.y < frame.y + frame.height;
}
