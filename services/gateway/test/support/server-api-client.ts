import { API_KEY_HEADER } from "@parley/protocol";

export interface ApiReply<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
}

/** Calls one server API operation on a gateway (`POST /server/v1/<operation>`), bounded in time. */
export async function callApi<T = Record<string, unknown>>(
  httpUrl: string,
  operation: string,
  body: unknown,
  key: string | undefined,
  timeoutMs = 10_000,
): Promise<ApiReply<T>> {
  const res = await fetch(`${httpUrl}/server/v1/${operation}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key !== undefined ? { [API_KEY_HEADER]: key } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, body: (await res.json()) as T };
}
