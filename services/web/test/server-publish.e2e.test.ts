import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../gateway/test/support/free-port.js";
import { callApi } from "../../gateway/test/support/server-api-client.js";
import { ChatPage } from "./support/chat-page.js";
import { WebCluster } from "./support/cluster.js";

/*
 * The server API's publish as people in browsers see it: Chromium -> HAProxy -> 3 gateways ->
 * Redis, with a backend publishing into the room (as the system, as a named sender, and once
 * skipping one tab) while two people type in it. Every tab must show every message once, in
 * the room's offset order as history tells it, API messages between the people's own.
 */
const KEY = "browser-publish-key-0123456789";
const ROOM = "lobby";
const SENDS_EACH = 6;
const PUBLISHES = 8;
/** The publish that skips alice's first tab: her app would have shown it already. */
const SKIP_CID = "alice-tab-note-1";

interface Shown {
  readonly offset: number;
  readonly from: string;
  readonly text: string;
}

describe("server API publishes in browsers on a 3-node cluster", () => {
  let cluster: WebCluster;

  beforeAll(async () => {
    cluster = await WebCluster.start({
      PARLEY_API_KEYS: KEY,
      PARLEY_RATE_PER_SECOND: "1000",
      PARLEY_RATE_BURST: "2000",
      PARLEY_USER_RATE_PER_SECOND: "1000",
      PARLEY_USER_RATE_BURST: "2000",
    });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("reach every tab once, in offset order, interleaved with the people's sends; a skipped tab gets the position instead", async () => {
    const alice = await ChatPage.open(cluster.browser, cluster.url, "alice");
    await alice.join();
    const bob = await ChatPage.open(cluster.browser, cluster.url, "bob");
    await bob.join();
    const aliceTab2 = await alice.openTab();
    const tabs = [alice, bob, aliceTab2];
    // leastconn: three sockets, three different gateways.
    const nodes = await Promise.all(tabs.map((t) => t.node()));
    expect(new Set(nodes).size).toBe(3);
    await alice.person("bob").waitFor();
    await bob.person("alice").waitFor();
    const skipped = alice.session();

    const type = async (page: ChatPage, who: string): Promise<void> => {
      for (let i = 1; i <= SENDS_EACH; i++) await page.say(`${who} says ${i}`);
    };
    const publish = async (): Promise<void> => {
      for (let i = 1; i <= PUBLISHES; i++) {
        // Over the three gateways in turn; even ones as "newsbot", odd ones as the system.
        const gateway = cluster.gateways[i % 3];
        if (gateway === undefined) throw new Error("no gateway");
        const body = i % 2 === 0 ? { room: ROOM, text: `news ${i}`, from: "newsbot" } : { room: ROOM, text: `notice ${i}` };
        expect((await callApi(gateway.httpUrl, "publish", body, KEY)).status).toBe(200);
        if (i === PUBLISHES / 2) {
          // As a backend does for a message alice typed in its own UI: stored under her name,
          // shown by every other tab and member, and her first tab only told its position.
          const own = { room: ROOM, text: "alice via the app backend", from: "alice", idempotencyKey: SKIP_CID, skip: skipped };
          expect((await callApi(gateway.httpUrl, "publish", own, KEY)).status).toBe(200);
        }
      }
    };
    await Promise.all([type(alice, "alice"), type(bob, "bob"), publish()]);

    const total = 2 * SENDS_EACH + PUBLISHES + 1;
    type History = { messages: { offset: number; from: string; text: string; cid: string }[]; more: boolean };
    // The people's last sends may still be on their way (the composer does not wait for the ack).
    const history = await waitUntil(
      `${total} messages stored`,
      async () => {
        const page = await callApi<History>(cluster.gateways[0]?.httpUrl ?? "", "history", { room: ROOM, limit: 100 }, KEY);
        return page.body.messages.length >= total ? page : undefined;
      },
      15_000,
      100,
    );
    expect(history.body.more).toBe(false);
    const stored: Shown[] = history.body.messages.map((m) => ({ offset: m.offset, from: m.from, text: m.text }));
    expect(stored.map((m) => m.offset)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const skippedOffset = history.body.messages.find((m) => m.cid === SKIP_CID)?.offset;
    expect(skippedOffset).toBeDefined();
    // The three writers really interleaved: API messages sit between the people's sends.
    const writers = stored.map((m) => (m.from === "alice" || m.from === "bob" ? "person" : "api"));
    expect(writers.slice(0, writers.lastIndexOf("api")).includes("person")).toBe(true);
    expect(writers.slice(writers.indexOf("api")).includes("person")).toBe(true);

    // What each tab shows: exactly history, in its order (alice's first tab without the skipped one).
    const expected = (tab: ChatPage): Shown[] => (tab === alice ? stored.filter((m) => m.offset !== skippedOffset) : stored);
    for (const tab of tabs) {
      await expect.poll(async () => (await tab.shownMessages(ROOM)).length, { timeout: 15_000 }).toBe(expected(tab).length);
    }
    for (const tab of tabs) {
      expect(await tab.shownMessages(ROOM), tab === aliceTab2 ? "alice's second tab" : tab.name).toEqual(expected(tab));
      expect(await tab.log(`#${ROOM}`).locator(".notice-warning").count()).toBe(0);
      expect(tab.errors).toEqual([]);
    }

    // On the wire: each tab's room stream arrived in offset order, every offset once; the skipped
    // tab got the message's ack (its position) in the message's place.
    for (const tab of tabs) {
      const stream = tab
        .envelopes()
        .filter((e) => e.room === ROOM && (e.type === "msg" || (e.type === "ack" && e.cid === SKIP_CID)))
        .map((e) => `${String(e.type)}:${String(e.offset)}`);
      const wanted = stored.map((m) => (tab === alice && m.offset === skippedOffset ? `ack:${m.offset}` : `msg:${m.offset}`));
      expect(stream, tab === aliceTab2 ? "alice's second tab" : tab.name).toEqual(wanted);
    }
  });
});
