# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run in a slim Debian with only the binary.
# SQLite and libpq are compiled into the binary (the `bundled` features), so the runtime
# image needs no database client libraries; the bundled libpq links OpenSSL (libssl3) for
# TLS to PostgreSQL, and outgoing HTTPS (rustls) reads the system's CA certificates.

FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# The cache mounts keep the crate registry and build artefacts between image builds; the
# binary is copied out of the cached target/ in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p billing-identity \
    && cp target/release/billing-identity /usr/local/bin/billing-identity

FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 billing \
    && useradd --system --uid 10001 --gid billing --home-dir /data --shell /usr/sbin/nologin billing \
    && mkdir -p /data \
    && chown billing:billing /data
COPY --from=builder /usr/local/bin/billing-identity /usr/local/bin/billing-identity

# mimalloc: commit arena memory as it is used and give freed memory back at once (README
# "Memory": peak 81 MiB instead of 114 MiB under the load floods, idle back at fresh). The
# C libraries (SQLite, libpq, OpenSSL) allocate with glibc's malloc: one arena, not one per
# thread that ran a query.
ENV DATABASE_URL=sqlite:///data/billing-identity.db \
    BIND=0.0.0.0:8080 \
    RUST_LOG=info \
    LOG_FORMAT=json \
    MIMALLOC_ARENA_EAGER_COMMIT=0 \
    MIMALLOC_PURGE_DELAY=0 \
    MALLOC_ARENA_MAX=1
# `docker stop` sends SIGTERM: requests in flight get SHUTDOWN_TIMEOUT (30s) to finish,
# and docker's own grace period (10s by default) must be longer to let them: use
# `docker stop -t 40` or `stop_grace_period` in compose.
STOPSIGNAL SIGTERM
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# The binary asks its own /readyz on the port of BIND (the loopback when BIND is 0.0.0.0),
# so the check follows BIND and needs no curl or shell.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["billing-identity", "healthcheck"]
ENTRYPOINT ["billing-identity"]
CMD ["serve"]
