# Two stages: build the release binary, then run it on a slim Debian with
# nothing but CA certificates and curl (for the health check).
FROM rust:1.88-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY openapi openapi
RUN cargo build --release --locked && strip target/release/invest-registry

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /app --create-home registry \
 && mkdir -p /app/data && chown registry:registry /app/data
COPY --from=build /src/target/release/invest-registry /usr/local/bin/invest-registry
USER registry
WORKDIR /app
# /app/data holds what the service keeps (a generated JWT secret when
# JWT_SECRET is unset); mount a volume there so it survives the container.
ENV BIND=0.0.0.0:8080 DATA_DIR=/app/data
VOLUME /app/data
EXPOSE 8080 9464
ENTRYPOINT ["invest-registry"]
CMD ["serve"]
