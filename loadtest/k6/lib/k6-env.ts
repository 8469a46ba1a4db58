/*
 * Reading the scenario settings k6 passes as `-e NAME=value` (or the container's environment).
 * Kept apart from the wire modules: this one names k6's `__ENV` global.
 */

export function envString(name: string, fallback: string): string {
  const value = __ENV[name];
  return value === undefined || value === "" ? fallback : value;
}

export function envNumber(name: string, fallback: number): number {
  const value = __ENV[name];
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${value} must be a non-negative number`);
  return n;
}

/** `BASE_URL` (ws://host:port of a gateway or of HAProxy); the compose k6 service sets it. */
export function baseUrl(): string {
  return envString("BASE_URL", "ws://127.0.0.1:8080");
}

/** A run tag that keeps the names of concurrent runs apart. */
export function runTag(): string {
  return envString("RUN", `k6${Date.now().toString(36)}`);
}

/** k6 counts 1-based VUs; scenarios index from 0. */
export function vuIndex(): number {
  return __VU - 1;
}
