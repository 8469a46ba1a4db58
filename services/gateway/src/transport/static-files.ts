import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { brotliCompress, constants as zlib, gzip } from "node:zlib";
import type { Logger } from "pino";
import type { HttpRequest, HttpResponse, TemplatedApp } from "./uws.js";

/**
 * The built web app, served from memory at `/`. Every file under the root is read once at start,
 * so a request is a map lookup: a path that is not a key is not served, which rules out traversal
 * (`..`, encoded slashes, symlinks out of the root) by construction. Anything not found yields to
 * the next route (the JSON 404).
 *
 * The gzip and brotli variants are made after start, in libuv's thread pool (`compressSite`):
 * done synchronously they held every gateway's event loop for 150-270 ms at start on the 2-core
 * bench machine (BENCHMARKS.md). Until a file's variant exists it is served uncompressed.
 */
export interface StaticFile {
  readonly body: Buffer;
  /** Set once `compressSite` made it (when it is smaller than the body). */
  gzip: Buffer | undefined;
  brotli: Buffer | undefined;
  readonly type: string;
  readonly etag: string;
  readonly cacheControl: string;
}

export interface StaticSite {
  readonly root: string;
  /** Keyed by the path below the root with `/` separators, e.g. `assets/index-3f9a.js`. */
  readonly files: ReadonlyMap<string, StaticFile>;
  readonly bytes: number;
}

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".webmanifest": "application/manifest+json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
};
const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".css", ".json", ".map", ".webmanifest", ".svg", ".txt", ".ico", ".wasm"]);

/** Vite names built assets `name-<hash>.ext`: their content never changes under that name. */
const HASHED = /^assets\/.+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;
const IMMUTABLE = "public, max-age=31536000, immutable";
/** Everything else (index.html above all) is revalidated on every use, cheaply, by ETag. */
const REVALIDATE = "no-cache";

/** Guards against a root that is not a web build (say `PARLEY_WEB_ROOT=/`). */
const MAX_FILES = 5000;
const MAX_BYTES = 64 * 1024 * 1024;

/*
 * For the HTML document. Scripts only from this origin: message text can never become code even
 * if a rendering bug let markup through. 'unsafe-eval' is needed by the protocol's validators
 * (TypeBox compiles its checks with `new Function`); inline scripts stay forbidden. Images may
 * come from Gravatar (avatars); the socket is same-origin.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: https://gravatar.com https://*.gravatar.com",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Which folder to serve: `PARLEY_WEB_ROOT` when set (it must hold an index.html), else the web
 * package's build next to this gateway (services/web/dist) when it was built, else none.
 */
export function resolveWebRoot(configured: string | undefined): string | undefined {
  if (configured !== undefined) return resolve(configured);
  // dist/transport/static-files.js -> services/gateway/dist/transport -> services/web/dist
  const built = fileURLToPath(new URL("../../../web/dist/", import.meta.url));
  return existsSync(join(built, "index.html")) ? resolve(built) : undefined;
}

export function loadStaticSite(root: string): StaticSite {
  const files = new Map<string, StaticFile>();
  let bytes = 0;
  const walk = (dir: string, prefix: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      // Dotfiles are never part of a build; symlinks could lead out of the root.
      if (entry.name.startsWith(".") || entry.isSymbolicLink()) continue;
      const path = join(dir, entry.name);
      const key = prefix + entry.name;
      if (entry.isDirectory()) {
        walk(path, `${key}/`);
      } else if (entry.isFile()) {
        if (files.size >= MAX_FILES) throw new Error(`web root ${root} has more than ${MAX_FILES} files: is it a web build?`);
        const body = readFileSync(path);
        bytes += body.length;
        if (bytes > MAX_BYTES) throw new Error(`web root ${root} holds more than ${MAX_BYTES} bytes: is it a web build?`);
        files.set(key, prepare(key, body));
      }
    }
  };
  if (!statSync(root).isDirectory()) throw new Error(`web root ${root} is not a directory`);
  walk(root, "");
  if (!files.has("index.html")) throw new Error(`web root ${root} has no index.html`);
  return { root, files, bytes };
}

function prepare(key: string, body: Buffer): StaticFile {
  const ext = extname(key).toLowerCase();
  return {
    body,
    gzip: undefined,
    brotli: undefined,
    type: TYPES[ext] ?? "application/octet-stream",
    etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
    cacheControl: HASHED.test(key) ? IMMUTABLE : REVALIDATE,
  };
}

function smaller(compressed: Buffer, original: Buffer): Buffer | undefined {
  return compressed.length < original.length ? compressed : undefined;
}

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/**
 * Makes the gzip and brotli variants of every compressible file of 1 KB or more, off the event
 * loop (zlib's asynchronous API runs in libuv's thread pool); resolves when all are in place.
 */
export async function compressSite(site: StaticSite): Promise<void> {
  await Promise.all(
    [...site.files].map(async ([key, file]) => {
      if (!COMPRESSIBLE.has(extname(key).toLowerCase()) || file.body.length < 1024) return;
      const [gz, br] = await Promise.all([
        gzipAsync(file.body, { level: 9 }),
        brotliAsync(file.body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_SIZE_HINT]: file.body.length } }),
      ]);
      file.gzip = smaller(gz, file.body);
      file.brotli = smaller(br, file.body);
    }),
  );
}

/** The file a request path names, if any: `/` is index.html; nothing outside the map exists. */
export function lookup(site: StaticSite, url: string): StaticFile | undefined {
  let path: string;
  try {
    path = decodeURIComponent(url);
  } catch {
    return undefined;
  }
  const key = path === "/" ? "index.html" : path.slice(1);
  return site.files.get(key);
}

/**
 * Serves the web app at `/` when there is one (see `resolveWebRoot`); register it after the API
 * routes and before the catch-all 404.
 */
export function attachWebApp(app: TemplatedApp, configuredRoot: string | undefined, log: Logger): StaticSite | undefined {
  const root = resolveWebRoot(configuredRoot);
  if (root === undefined) {
    log.info("no web app build (services/web/dist) and PARLEY_WEB_ROOT unset: serving the API only");
    return undefined;
  }
  let site: StaticSite;
  try {
    site = loadStaticSite(root);
  } catch (err) {
    // A root the operator named must be right; the default one may be mid-rebuild (pnpm build
    // rewrites services/web/dist), which must not keep the chat server from starting.
    if (configuredRoot !== undefined) throw err;
    log.warn({ err, webRoot: root }, "web app build unreadable; serving the API only");
    return undefined;
  }
  attachStaticFiles(app, site);
  log.info({ webRoot: root, files: site.files.size, bytes: site.bytes }, "serving the web app");
  compressSite(site).catch((err: unknown) => log.warn({ err }, "web app compression failed; serving it uncompressed"));
  return site;
}

/** Serves `site` for GET and HEAD on every path no more specific route claimed. */
export function attachStaticFiles(app: TemplatedApp, site: StaticSite): void {
  app.get("/*", (res, req) => serve(site, res, req, false));
  app.head("/*", (res, req) => serve(site, res, req, true));
}

function serve(site: StaticSite, res: HttpResponse, req: HttpRequest, head: boolean): void {
  const file = lookup(site, req.getUrl());
  if (file === undefined) {
    // Not ours: let the next matching route (the JSON 404) answer.
    req.setYield(true);
    return;
  }
  const notModified = req.getHeader("if-none-match") === file.etag;
  const accepts = req.getHeader("accept-encoding");
  const [body, encoding] =
    file.brotli !== undefined && /\bbr\b/.test(accepts)
      ? [file.brotli, "br"]
      : file.gzip !== undefined && /\bgzip\b/.test(accepts)
        ? [file.gzip, "gzip"]
        : [file.body, undefined];
  res.cork(() => {
    res.writeStatus(notModified ? "304 Not Modified" : "200 OK");
    res.writeHeader("etag", file.etag);
    res.writeHeader("cache-control", file.cacheControl);
    res.writeHeader("x-content-type-options", "nosniff");
    if (file.gzip !== undefined || file.brotli !== undefined) res.writeHeader("vary", "accept-encoding");
    // endWithoutBody() without a length: this uWS build aborts the process when given one.
    if (notModified) {
      res.endWithoutBody();
      return;
    }
    res.writeHeader("content-type", file.type);
    if (encoding !== undefined) res.writeHeader("content-encoding", encoding);
    if (file.type.startsWith("text/html")) {
      res.writeHeader("content-security-policy", CONTENT_SECURITY_POLICY);
      res.writeHeader("referrer-policy", "no-referrer");
    }
    if (head) res.endWithoutBody();
    else res.end(body);
  });
}
