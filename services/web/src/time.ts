const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dated = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** `14:05` today, `Mon 3 Mar, 14:05` before. */
export function shortTime(ts: number, now = Date.now()): string {
  const when = new Date(ts);
  return sameDay(when, new Date(now)) ? clock.format(when) : dated.format(when);
}

export function fullTime(ts: number): string {
  return full.format(new Date(ts));
}

export function isoTime(ts: number): string {
  return new Date(ts).toISOString();
}
