# Ferry's container image, built from the same package as `npm run package` (see docs/deploying.md).
# Build: docker build -t ferry .   Run: docker run -p 8080:8080 -v ferry-data:/data --env-file ferry.env ferry

# The package's own steps: install, build, package. better-sqlite3 compiles here (python3, make, g++).
FROM node:20-bookworm AS package
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npm run package

# The runtime stage holds Node and the package only: no toolchain, no sources, no dev dependencies.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    FERRY_CONFIG=/opt/ferry/deploy/ferry.config.container.json \
    FERRY_STORE_URL=sqlite:/data/ferry.db
COPY --from=package /src/dist/ferry /opt/ferry
# SQLite's file (and its backups) live on the /data volume, owned by the unprivileged `node` user.
RUN mkdir -p /data && chown node:node /data
USER node
WORKDIR /data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself, so a stop drains in-flight deliveries.
ENTRYPOINT ["node", "/opt/ferry/main.js"]
