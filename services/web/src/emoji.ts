/**
 * `:shortcode:` to emoji with GitHub's gemoji names (the maintained `gemoji` package; the table
 * is ~350 kB of source, so it is its own chunk, fetched while the join screen is up).
 */
let table: Readonly<Record<string, string>> | undefined;
let loading: Promise<void> | undefined;

/** Loads the emoji table once; resolves (never rejects) when it is ready or failed to load. */
export function loadEmoji(): Promise<void> {
  loading ??= import("gemoji").then(
    (mod) => {
      table = mod.nameToEmoji;
    },
    (err: unknown) => {
      // Shortcodes then stay as typed: a cosmetic loss, not a reason to stop the app.
      console.warn("parley: emoji table did not load", err);
    },
  );
  return loading;
}

const SHORTCODE = /:([a-z0-9_+-]{1,40}):/g;

/** The text with every known `:name:` replaced by its emoji; unknown ones stay as they are. */
export function emojify(text: string): string {
  const names = table;
  if (names === undefined || !text.includes(":")) return text;
  return text.replace(SHORTCODE, (whole, name: string) => (Object.hasOwn(names, name) ? (names[name] ?? whole) : whole));
}
