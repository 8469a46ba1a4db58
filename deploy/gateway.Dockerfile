# syntax=docker/dockerfile:1
#
# The Parley gateway image. Build from the repository root (the context is the whole pnpm
# workspace; .dockerignore keeps host node_modules and builds out):
#
#   docker build -f deploy/gateway.Dockerfile -t parley-gateway .
#
# Both stages are Debian bookworm + Node 20: uWebSockets.js ships prebuilt binaries built for
# glibc and Node 20's ABI (115); musl (alpine) or another Node major would not load them.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------- build
FROM ${NODE_IMAGE} AS build

# Pinned to root package.json's "packageManager" (deploy/test checks they agree): with any other
# version pnpm 10 would download that one itself at first use. npm rather than corepack, whose
# downloads fail in some environments.
ARG PNPM_VERSION=10.34.9
RUN npm install --global "pnpm@${PNPM_VERSION}" && pnpm --version

ENV CI=true
WORKDIR /src

# Dependencies first, keyed on the lockfile alone: this layer survives every source change, and
# `pnpm fetch` needs no package.json, so a new workspace package needs no line here.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch --store-dir /pnpm/store

COPY . .
# The root build compiles the TypeScript packages; the web app (services/web, Vite) is built here
# too unless the root build already did.
RUN pnpm install --frozen-lockfile --offline --store-dir /pnpm/store \
 && pnpm build \
 && if [ -f services/web/package.json ] && [ ! -f services/web/dist/index.html ]; then pnpm --filter @parley/web build; fi

# A self-contained gateway with production dependencies only; the workspace's @parley/protocol is
# copied in, not linked. --legacy: pnpm 10's default deploy requires inject-workspace-packages=true
# for the whole workspace, which would change every developer's install; for one package the
# legacy deploy gives the same result. The legacy deploy resolves the package's dependencies
# again, which needs registry metadata that `pnpm fetch` does not keep: --prefer-offline takes the
# tarballs from the store and fetches only that metadata (--offline fails without it). Then:
# drop sources and tests, keep only the uWS binary for this platform and Node ABI (the package
# carries 18, ~90 MB), and fail the build if uWS would fall back to its pure-JS emulation (the
# gateway refuses to start on it anyway).
RUN pnpm --filter @parley/gateway deploy --prod --legacy --prefer-offline --store-dir /pnpm/store /out \
 && rm -rf /out/src /out/test /out/tsconfig.json /out/dist/.tsbuildinfo \
 && keep="uws_$(node -p 'process.platform + "_" + process.arch + "_" + process.versions.modules').node" \
 && find -L /out/node_modules/uWebSockets.js/binaries -name 'uws_*.node' ! -name "$keep" -delete \
 && node -e "const u = require('/out/node_modules/uWebSockets.js'); if (!String(u.App).includes('[native code]')) throw new Error('uWebSockets.js has no native binary for ' + process.platform + '-' + process.arch)"

# The image mirrors the repository's layout, /app/services/{gateway,web/dist}, so the gateway finds
# the web app where it looks by default (services/web/dist beside it) and PARLEY_WEB_ROOT stays
# free for an operator's own build. Without a web build the image still runs: WebSocket, /api and
# health need none.
RUN mkdir -p /app/services \
 && mv /out /app/services/gateway \
 && if [ -f services/web/dist/index.html ]; then mkdir -p /app/services/web && cp -R services/web/dist /app/services/web/dist; fi

# ---------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    ADMIN_PORT=9100

# Owned by root and read-only for the process: the gateway writes nothing to disk.
COPY --from=build /app /app
WORKDIR /app/services/gateway

# The base image's unprivileged user (uid 1000); both ports are above 1024.
USER node

# 8080: WebSocket /ws, web app, /api, /healthz, /readyz.  9100: /metrics (admin: never publish it).
EXPOSE 8080 9100

# Ready = Redis reachable and not draining. The slim image has no curl: Node 20's fetch does it.
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# SIGTERM drains: readiness false, clients closed 1001 in paced batches, exit 0 within
# PARLEY_DRAIN_TIMEOUT_MS (10 s). `docker stop` must wait longer than that (compose: 30 s).
STOPSIGNAL SIGTERM
# --max-semi-space-size=4: V8's young generation may otherwise grow to 32 MB during a connection
# storm and stay there (docs/OPERATIONS.md); the flags are services/gateway/package.json's
# `parley.nodeFlags`, which pnpm start and the bench use too.
CMD ["node", "--max-semi-space-size=4", "dist/main.js"]
