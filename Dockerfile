# syntax=docker/dockerfile:1

# Image of the gamestream processor and its operator tools.
#
#   docker build -t gamestream .
#   docker run --rm gamestream help
#
# The default command is `gamestream run`. Configure it with GAMESTREAM_*
# environment variables (see configs/gamestream.yaml) or with
# `--config FILE`; docker-compose.yml shows both.

FROM golang:1.26 AS build
WORKDIR /src

# Modules download before the sources are copied, so a change of the
# sources alone does not download them again. The module and build caches
# are BuildKit cache mounts, which persist between builds.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .
# CGO_ENABLED=0 builds a static binary. -buildvcs=false skips VCS stamping,
# which fails when the copied .git is incomplete, as in a git worktree.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" \
        -o /out/gamestream ./cmd/gamestream

FROM debian:trixie-slim

# curl serves the health check. ca-certificates lets a DSN with TLS verify
# the server's certificate. The IANA zone database of window specs is
# compiled into the binary (time/tzdata), so tzdata is not needed.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/gamestream gamestream \
    && mkdir -p /var/lib/gamestream \
    && chown gamestream:gamestream /var/lib/gamestream

COPY --from=build /out/gamestream /usr/local/bin/gamestream

USER gamestream
WORKDIR /var/lib/gamestream

# The Badger checkpoint lives on the volume, so a new container resumes from
# it instead of rebuilding the state from the Kafka log. Metrics and health
# listen on all interfaces of the container.
ENV GAMESTREAM_STATE_DIR=/var/lib/gamestream/state \
    GAMESTREAM_HTTP_LISTEN=0.0.0.0:9464
VOLUME ["/var/lib/gamestream"]
EXPOSE 9464

# /readyz returns 200 while the consumer runs and no dependency is failing.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -fsS http://127.0.0.1:9464/readyz || exit 1

ENTRYPOINT ["/usr/local/bin/gamestream"]
CMD ["run"]
