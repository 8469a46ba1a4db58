import axe from "axe-core";
import type { Page } from "playwright-core";

/** What axe checks: WCAG 2.2 A and AA, its best practices, and Label in Name (off by default). */
const RUN_OPTIONS = {
  runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
  rules: { "label-content-name-mismatch": { enabled: true } },
  resultTypes: ["violations"],
} satisfies axe.RunOptions;

/**
 * Runs axe-core (Deque's accessibility engine) in the page and returns one line per violation
 * and element, `rule: selector (summary)`, so a failing test says what to fix. The engine is
 * evaluated through the DevTools protocol, which the page's Content-Security-Policy allows.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate<boolean>("typeof window.axe === 'object'"))) await page.evaluate(axe.source);
  // A string, like every in-page script in these tests: the tests are type-checked without the DOM.
  return page.evaluate<string[]>(`window.axe.run(document, ${JSON.stringify(RUN_OPTIONS)}).then((found) =>
    found.violations.flatMap((v) => v.nodes.map((n) => v.id + ": " + n.target.join(" ") + " (" + (n.failureSummary ?? v.help).replace(/\\s+/g, " ") + ")")))`);
}
