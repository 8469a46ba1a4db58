import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let root: string | undefined;

/**
 * A `PARLEY_WEB_ROOT` holding only an index.html. These tests need no web app; pointing the
 * gateways here keeps them from reading services/web/dist, which a concurrent `pnpm build`
 * may be rewriting while a gateway starts (it then fails on a vanished asset).
 */
export function placeholderWebRoot(): string {
  if (root === undefined) {
    root = mkdtempSync(join(tmpdir(), "parley-web-"));
    writeFileSync(join(root, "index.html"), "<!doctype html><title>parley test</title>\n");
  }
  return root;
}
