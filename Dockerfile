# Gospital container image. Multi-stage: the first stage builds with the toolchain pinned in rust-toolchain.toml
# and `--locked` (the same binary `cargo build --release --locked` gives), the second is a small Debian runtime
# with only CA certificates (DynamoDB and other AWS APIs are HTTPS), running as a non-root user.
#
#   docker build -t gospital .            (or: make image)
#   docker run -p 8080:8080 gospital      (SQLite in /data; see README "Configuration" for everything else)

# ---- build -------------------------------------------------------------------------------------------------
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src

# Dependency layer: built from the manifests alone with placeholder sources, so it is cached until
# Cargo.toml/Cargo.lock change, not on every source edit.
COPY rust-toolchain.toml Cargo.toml Cargo.lock build.rs ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked --bin gospital \
 && rm -rf src target/release/.fingerprint/gospital-* target/release/deps/gospital-* target/release/deps/libgospital-*

# The service itself (migrations are embedded into the binary at build time).
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked --bin gospital \
 && strip target/release/gospital

# ---- runtime -----------------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 gospital \
 && useradd --system --uid 10001 --gid gospital --home-dir /data --shell /usr/sbin/nologin gospital \
 && mkdir /data && chown gospital:gospital /data

COPY --from=build /src/target/release/gospital /usr/local/bin/gospital

# Containers listen on every interface; SERVER_PORT is the Go original's variable, kept for its deployments.
# DATABASE_URL is left unset so MYSQL_DSN still works; without either, SQLite lands in /data/gospital.db.
ENV GOSPITAL_ADDR=0.0.0.0:8080 \
    SERVER_PORT=8080
WORKDIR /data
USER 10001:10001
EXPOSE 8080

# The binary checks itself (GET /health/live on the listen address), so the image needs no curl.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/gospital", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/gospital"]
CMD ["serve"]
