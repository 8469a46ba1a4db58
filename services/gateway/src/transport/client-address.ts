import { BlockList, isIP } from "node:net";

/**
 * The address a request really came from, for per-address limits. Behind a load balancer the
 * TCP peer is the balancer, so `X-Forwarded-For` is believed, but only from peers listed in
 * PARLEY_TRUSTED_PROXIES, and only up to the first hop (from the right) that is not itself a
 * trusted proxy: a client can prepend whatever it likes, never append.
 */
export class ClientAddress {
  private readonly trusted = new BlockList();
  private readonly any: boolean;

  constructor(trustedProxies: readonly string[]) {
    for (const entry of trustedProxies) {
      const [address = "", bits] = entry.split("/");
      const family = isIP(address) === 6 ? "ipv6" : "ipv4";
      if (bits === undefined) this.trusted.addAddress(address, family);
      else this.trusted.addSubnet(address, Number(bits), family);
    }
    this.any = trustedProxies.length > 0;
  }

  /** `peer` is the TCP peer as uWS prints it; `forwardedFor` the raw header ("" when absent). */
  resolve(peer: string, forwardedFor: string): string {
    let client = normalise(peer);
    if (!this.any || forwardedFor === "" || !this.isTrusted(client)) return client;
    const hops = forwardedFor.split(",");
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalise((hops[i] as string).trim());
      if (isIP(hop) === 0) return client;
      client = hop;
      if (!this.isTrusted(hop)) return hop;
    }
    return client;
  }

  private isTrusted(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    return this.trusted.check(address, family === 6 ? "ipv6" : "ipv4");
  }
}

/** `::ffff:1.2.3.4` (IPv4-mapped) is 1.2.3.4; uWS prints IPv6 in full, which BlockList accepts. */
function normalise(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith("::ffff:") && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}
