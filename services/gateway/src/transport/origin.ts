/**
 * Browser Origin policy for upgrades. Non-browser clients send no Origin and are let through
 * (they are authenticated by token or guest name like everyone else); browsers may connect only
 * from an allowed origin, by default the host they connect to.
 */
export function isOriginAllowed(origin: string, host: string, allowed: readonly string[] | "*" | undefined): boolean {
  if (origin === "") return true;
  if (allowed === "*") return true;
  const normalised = origin.replace(/\/$/, "");
  if (allowed !== undefined) return allowed.includes(normalised);
  try {
    return new URL(normalised).host === host;
  } catch {
    return false;
  }
}
