import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { GatewayProcess } from "../../services/gateway/test/support/gateway-process.js";
import { sleep, waitUntil } from "../../services/gateway/test/support/free-port.js";

/*
 * The try-it client (`pnpm -s chat <name>`: scripts/src/chat.ts, run built) against a real
 * gateway, typed into as a user types: what it prints is what the user sees.
 */
const CHAT = fileURLToPath(new URL("../dist/chat.js", import.meta.url));

class Chat {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcessWithoutNullStreams) {
    this.exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
    for (const stream of [proc.stdout, proc.stderr]) {
      let buffered = "";
      stream.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const parts = buffered.split("\n");
        buffered = parts.pop() ?? "";
        this.lines.push(...parts);
      });
    }
  }

  static start(args: string[]): Chat {
    return new Chat(spawn(process.execPath, [CHAT, ...args], { stdio: ["pipe", "pipe", "pipe"] }));
  }

  type(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  /** The first printed line (from now on, if `after` is given) matching `pattern`. */
  async sees(pattern: RegExp, after = 0): Promise<string> {
    return waitUntil(`chat to print ${String(pattern)}; it printed:\n${this.lines.join("\n")}`, () => this.lines.slice(after).find((l) => pattern.test(l)), 15_000, 20);
  }
}

describe("the try-it chat client", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function gateway(): Promise<GatewayProcess> {
    const g = await GatewayProcess.start({ env: { LOG_LEVEL: "warn" } });
    cleanups.push(() => g.stop("SIGKILL"));
    return g;
  }

  function chat(args: string[]): Chat {
    const c = Chat.start(args);
    cleanups.push(() => c.proc.exitCode === null && c.proc.kill("SIGKILL"));
    return c;
  }

  it("refuses `/join bad room` with a sentence, joins nothing, and keeps talking in its room", async () => {
    const g = await gateway();
    const alice = chat(["alice", "--url", g.url]);
    await alice.sees(/^\* joined lobby \(latest #0\)/);
    const mark = alice.lines.length;
    alice.type("/join bad room");
    expect(await alice.sees(/^! /, mark)).toBe(`! "bad room" is not a room name (1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit)`);
    alice.type("still here");
    expect(await alice.sees(/✓/, mark)).toBe("  ✓ lobby #1");
    expect(alice.lines.join("\n")).not.toMatch(/joined bad\b/);
    const { body } = await g.getJson<{ rooms: { name: string }[] }>("/api/rooms");
    expect(body.rooms.map((r) => r.name)).toEqual(["lobby"]);
    alice.type("/quit");
    expect(await Promise.race([alice.exited, sleep(10_000).then(() => "timeout")])).toBe(0);
  });

  it("refuses a message over the text limit before sending it, and a bad room on the command line", async () => {
    const g = await gateway();
    const bob = chat(["bob", "--url", g.url]);
    await bob.sees(/^\* joined lobby/);
    const mark = bob.lines.length;
    bob.type("x".repeat(4001));
    expect(await bob.sees(/^! /, mark)).toBe("! message not sent: it has 4001 characters, the limit is 4000");
    bob.type("/join general");
    await bob.sees(/^\* joined general/, mark);
    bob.type("short one");
    expect(await bob.sees(/✓/, mark)).toBe("  ✓ general #1");
    bob.proc.stdin.end();
    expect(await Promise.race([bob.exited, sleep(10_000).then(() => "timeout")])).toBe(0);

    const bad = chat(["carol", "no such room", "--url", g.url]);
    expect(await Promise.race([bad.exited, sleep(10_000).then(() => "timeout")])).toBe(2);
    expect(bad.lines[0]).toBe(`! "no such room" is not a room name (1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit)`);
  });

  it("says how to fix a refused connection", async () => {
    const g = await gateway();
    await g.stop("SIGKILL");
    const dave = chat(["dave", "--url", g.url]);
    expect(await dave.sees(/ECONNREFUSED/)).toContain("(is `pnpm start` running?)");
  });
});
