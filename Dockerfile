# syntax=docker/dockerfile:1
# guestkit: one image for `guestkit serve`, `guestkit worker` and the CLI (ENTRYPOINT guestkit).
#   docker build -t guestkit .          (podman/buildah: add --format docker to keep the HEALTHCHECK)
#   docker run --rm --read-only -v /srv/images:/images:ro guestkit inspect /images/web-01.qcow2
#   docker run -d --read-only -v guestkit-data:/data -p 8080:8080 guestkit serve
# Runs as uid 65532 with a read-only root filesystem: everything written goes to /data (a volume).
# Images are read in process, so no privilege, device or capability is needed (docs/deploy.md).
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile, pack the npm tarball, install it with production dependencies only ----
FROM ${NODE_IMAGE} AS build
# a C++ toolchain for better-sqlite3 when no prebuilt binary matches; this stage only
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp builds against the base image's own headers (/usr/local/include/node), not a download
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json README.md ./
COPY scripts/build-web.mjs scripts/build-cli.mjs scripts/esbuild-zod-english.mjs scripts/
COPY bin bin
COPY schemas schemas
COPY src src
COPY web web
# prepack builds dist/src and dist/web; the tarball holds only what package.json "files" names
RUN npm pack --silent \
 && mkdir -p /opt/guestkit \
 && npm install --prefix /opt/guestkit --omit=dev --no-audit --no-fund --no-save ./guestkit-*.tgz \
 && rm -rf /opt/guestkit/package.json /opt/guestkit/package-lock.json /root/.npm

# ---- runtime: node, the installed package, nothing else ----
FROM ${NODE_IMAGE} AS runtime
# (re-declared: an ARG before the first FROM is seen by FROM lines only)
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="guestkit" \
      org.opencontainers.image.description="Inspect virtual-machine disk images without booting or mounting them, as jobs across a fleet of workers" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}" \
      org.opencontainers.image.documentation="docs/deploy.md"
# the runtime needs node alone: npm, npx, corepack and yarn go; one unprivileged user
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && groupadd --system --gid 65532 guestkit \
 && useradd --system --uid 65532 --gid 65532 --home-dir /data --no-create-home --shell /usr/sbin/nologin guestkit \
 && mkdir -p /data /images \
 && chown 65532:65532 /data
COPY --from=build /opt/guestkit /opt/guestkit
ENV NODE_ENV=production \
    PATH=/opt/guestkit/node_modules/.bin:$PATH \
    GUESTKIT_DATA_DIR=/data \
    GUESTKIT_JOBS_DIR=/data/jobs \
    GUESTKIT_RESULTS_DIR=/data/results \
    GUESTKIT_HOST=0.0.0.0 \
    GUESTKIT_PORT=8080
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080 9464
# serve answers on GUESTKIT_PORT; a worker sets GUESTKIT_HEALTH_URL to its --metrics-port's /healthz
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.GUESTKIT_HEALTH_URL||`http://127.0.0.1:${process.env.GUESTKIT_PORT||8080}/healthz`).then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "--v8-pool-size=1", "--single-threaded-gc", "/opt/guestkit/node_modules/guestkit/bin/guestkit.js"]
CMD ["serve"]
