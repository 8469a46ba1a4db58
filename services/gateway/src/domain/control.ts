import { inboxTopic, inboxTopics, type Topic } from "./topic.js";

/*
 * Orders from the server API to every node holding a user's sessions: close them, take them out
 * of a room, or close the ones opened with a revoked token. They travel on the inbox shards,
 * which every node with sessions is subscribed to (no subscription of their own), as JSON with a
 * `type` no client envelope has, so an older node ignores them.
 */
export const CONTROL_TYPE = "@control";

export type Control =
  | { readonly type: typeof CONTROL_TYPE; readonly op: "disconnect"; readonly user: string; readonly code: number; readonly reason: string }
  | { readonly type: typeof CONTROL_TYPE; readonly op: "remove"; readonly user: string; readonly room: string }
  | {
      readonly type: typeof CONTROL_TYPE;
      readonly op: "revoke";
      /** Set for "every token of this user issued before `before`". */
      readonly user?: string;
      readonly before?: number;
      /** Set for one token. */
      readonly jti?: string;
    };

/** The shard a control is published on: the user's (every node with sessions reads them all). */
export function controlTopic(control: Control): Topic {
  return control.user !== undefined ? inboxTopic(control.user) : (inboxTopics[0] as Topic);
}

/** A control read from a publication, or undefined when the value is not one (checked field by field). */
export function readControl(value: { readonly type?: unknown }): Control | undefined {
  if (value.type !== CONTROL_TYPE) return undefined;
  const v = value as Record<string, unknown>;
  const str = (key: string): string | undefined => (typeof v[key] === "string" ? v[key] : undefined);
  const user = str("user");
  switch (v.op) {
    case "disconnect":
      return user !== undefined && typeof v.code === "number" ? { type: CONTROL_TYPE, op: "disconnect", user, code: v.code, reason: str("reason") ?? "" } : undefined;
    case "remove": {
      const room = str("room");
      return user !== undefined && room !== undefined ? { type: CONTROL_TYPE, op: "remove", user, room } : undefined;
    }
    case "revoke": {
      const jti = str("jti");
      const before = typeof v.before === "number" ? v.before : undefined;
      if (jti !== undefined) return { type: CONTROL_TYPE, op: "revoke", jti };
      return user !== undefined && before !== undefined ? { type: CONTROL_TYPE, op: "revoke", user, before } : undefined;
    }
    default:
      return undefined;
  }
}
