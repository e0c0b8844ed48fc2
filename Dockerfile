# The simsearch engine image: simsearch-engine (gRPC on :50051) plus the indexer,
# trainer, embedder and CLI, on Debian 12 slim, running as a non-root user.
#
#   docker build -t simsearch .
#   docker run -p 50051:50051 -v "$PWD/var/index:/index:ro" simsearch
#
# Build stage: the project's own install script, then scripts/release-build.sh (the
# same release build as lambda/Dockerfile's).
FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/
RUN ./scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN scripts/release-build.sh /build simsearch-engine simsearch-indexer simsearch \
      simsearch-train-ncf simsearch-embed simsearch-lambda \
 && mkdir -p /out \
 && cp /build/server/simsearch-engine /build/indexer/simsearch-indexer /build/client/simsearch \
       /build/models/ncf/simsearch-train-ncf /build/models/text/simsearch-embed \
       /build/lambda/simsearch-lambda /out/

# The programs and the website (for `simsearch-lambda --serve-http`), on Debian 12 slim.
FROM debian:12-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libopenblas0-pthread libgomp1 \
      libutf8proc2 libxxhash0 libssl3 libcpp-httplib0.11 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin simsearch
COPY --from=build /out/ /usr/local/bin/
COPY web/ /usr/local/share/simsearch/web/

# HAProxy in front of engine replicas (deploy/haproxy; `--target haproxy`): its gRPC
# health check runs the `simsearch` CLI of this image.
FROM runtime AS haproxy
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/*
COPY deploy/haproxy/haproxy.cfg deploy/haproxy/grpc-health-check.sh /usr/local/etc/simsearch/
RUN ln -s /usr/local/etc/simsearch/grpc-health-check.sh /usr/local/bin/grpc-health-check.sh
USER haproxy
ENTRYPOINT ["haproxy", "-f", "/usr/local/etc/simsearch/haproxy.cfg"]

# The engine (the default target).
FROM runtime AS engine
USER simsearch
EXPOSE 50051
VOLUME /index
# grpc.health.v1 through the project's own client: healthy once the engine serves.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["simsearch", "health", "--server", "127.0.0.1:50051", "--timeout", "2"]
ENTRYPOINT ["simsearch-engine"]
CMD ["--index_root", "/index", "--listen", "0.0.0.0:50051"]
