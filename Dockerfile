# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run in a slim Debian with only the binary.
# SQLite and libpq are compiled into the binary (the `bundled` features), so the runtime
# image needs no database client libraries.

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
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 billing \
    && useradd --system --uid 10001 --gid billing --home-dir /data --shell /usr/sbin/nologin billing \
    && mkdir -p /data \
    && chown billing:billing /data
COPY --from=builder /usr/local/bin/billing-identity /usr/local/bin/billing-identity

ENV DATABASE_URL=sqlite:///data/billing-identity.db \
    BIND=0.0.0.0:8080 \
    RUST_LOG=info
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# No curl in the slim image: bash's /dev/tcp sends a bare HTTP request to /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["billing-identity"]
CMD ["serve"]
