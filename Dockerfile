# syntax=docker/dockerfile:1

# --- build ------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
# The cache mounts keep downloaded crates and compiled dependencies between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    ./scripts/build-dashboard.sh \
    && cargo build --release -p coordinator --locked \
    && install -m 0755 target/release/coordinator /usr/local/bin/coordinator

# --- run --------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system coordinator \
    && useradd --system --gid coordinator --home-dir /var/lib/coordinator --shell /usr/sbin/nologin coordinator \
    && install -d -o coordinator -g coordinator -m 0700 /var/lib/coordinator

COPY --from=builder /usr/local/bin/coordinator /usr/local/bin/coordinator

ENV DATA_DIR=/var/lib/coordinator \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /var/lib/coordinator
VOLUME ["/var/lib/coordinator"]
USER coordinator
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${PORT:-3000}/health" > /dev/null || exit 1

CMD ["coordinator", "serve"]
