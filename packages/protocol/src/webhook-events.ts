/**
 * The events Parley sends to webhook endpoints. Each delivery is one event, signed per Standard
 * Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature` headers), with the body
 * `{"type": <one of these>, "timestamp": <ISO 8601>, "data": {...}}`. The `webhook-id` is stable
 * across retries: receivers deduplicate by it.
 */
export const WebhookEventType = {
  /** A message was stored in a room or DM room; `data` is the stored `msg` envelope. */
  messageCreated: "message.created",
  /** The first member anywhere in the cluster joined the room; `data`: `{room}`. */
  roomOccupied: "room.occupied",
  /** The last member anywhere in the cluster left the room; `data`: `{room}`. */
  roomVacated: "room.vacated",
  /** A user's first tab anywhere in the cluster joined the room; `data`: `{room, user}`. */
  memberJoined: "member.joined",
  /** A user's last tab anywhere in the cluster left the room (or its node died); `data`: `{room, user}`. */
  memberLeft: "member.left",
  /** A user's first connection anywhere in the cluster; `data`: `{user}`. */
  userOnline: "user.online",
  /** A user's last connection anywhere in the cluster closed (or its node died); `data`: `{user}`. */
  userOffline: "user.offline",
} as const;
export type WebhookEventType = (typeof WebhookEventType)[keyof typeof WebhookEventType];

export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = Object.values(WebhookEventType);
