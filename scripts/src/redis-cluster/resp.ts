import { createConnection } from "node:net";

/** A parsed RESP2 reply; an error reply is an `Error` value, not a throw. */
export type RedisReply = string | number | null | Error | RedisReply[];

/**
 * Parses one RESP2 reply from `buf` at `at`. Returns `[value, next]`, or undefined when the reply
 * is not complete yet.
 */
export function parseReply(buf: Buffer, at = 0): [RedisReply, number] | undefined {
  const eol = buf.indexOf("\r\n", at);
  if (eol === -1) return undefined;
  const kind = String.fromCharCode(buf[at] ?? 0);
  const line = buf.toString("utf8", at + 1, eol);
  const next = eol + 2;
  switch (kind) {
    case "+":
      return [line, next];
    case "-":
      return [new Error(line), next];
    case ":":
      return [Number(line), next];
    case "$": {
      const len = Number(line);
      if (len < 0) return [null, next];
      if (buf.length < next + len + 2) return undefined;
      return [buf.toString("utf8", next, next + len), next + len + 2];
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return [null, next];
      const items: RedisReply[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, pos);
        if (item === undefined) return undefined;
        items.push(item[0]);
        pos = item[1];
      }
      return [items, pos];
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(kind)}`);
  }
}

/**
 * Sends one command to 127.0.0.1:port on a fresh connection and resolves with the parsed reply
 * (an error reply resolves as an `Error` value). Rejects on a socket error or after `timeoutMs`.
 */
export function redisCommand(port: number, args: readonly (string | number)[], timeoutMs = 2000): Promise<RedisReply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${String(args[0])} on :${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let reply: [RedisReply, number] | undefined;
      try {
        reply = parseReply(buf);
      } catch (err) {
        clearTimeout(timer);
        socket.destroy();
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (reply === undefined) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(reply[0]);
    });
    const strings = args.map(String);
    socket.write(`*${strings.length}\r\n${strings.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
  });
}
