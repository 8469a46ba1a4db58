import type { CommandOptions } from "./args.js";
import { usageError } from "./exit-codes.js";

/** A string option's value, or undefined when it was not given. */
export function textOption(options: CommandOptions, name: string): string | undefined {
  const value = options[name];
  return typeof value === "string" ? value : undefined;
}

/** An integer option within [min, max], or undefined when it was not given. */
export function intOption(options: CommandOptions, name: string, min: number, max: number): number | undefined {
  const raw = textOption(options, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw usageError(`--${name} ${raw}: expected a whole number from ${min} to ${max}`);
  return value;
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `12h`, `7d` as milliseconds. */
export function parseDuration(raw: string, option: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(raw);
  if (match === null) throw usageError(`--${option} ${raw}: expected a duration such as 90s, 30m, 12h or 7d`);
  return Number(match[1]) * (UNIT_MS[match[2] as string] as number);
}

/** A point in time: an ISO 8601 date (`2027-01-31`, `2027-01-31T18:00Z`) or milliseconds since the epoch. */
export function parseTime(raw: string, option: string): number {
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isSafeInteger(ms) || ms < 0 || !/^\d/.test(raw)) {
    throw usageError(`--${option} ${raw}: expected a date such as 2027-01-31T18:00Z, or milliseconds since 1970`);
  }
  return ms;
}
