# clickstream container image: one executable, the service chosen by the first argument
# (ingestion | processor | analytics | gateway | all).
#
#   docker build -t clickstream:0.1.0 .
#   docker run --rm -p 8080:8080 clickstream:0.1.0 ingestion
#
# No Docker engine exists on the development machines or in CI; Podman builds this file there, with no registry
# either (scripts/container.sh makes the two Debian base images with debootstrap and builds with --pull=never), and
# the `image` tests run the four services from the result (tests/image/image_test.py). Both stages are Debian 12,
# as the build machine is, so the library versions (gRPC 1.51, protobuf 3.21, librdkafka 2.0.2, ...) are the ones
# the tests ran with. The runtime package list was derived from the real binary (`readelf -d`, each library mapped
# to its package with `dpkg -S`, the -dev ones dropped).

# --- builder ---------------------------------------------------------------------------------------------
FROM debian:bookworm AS build

# The build packages of scripts/setup.sh, without the local infrastructure (PostgreSQL, Redis, Java).
# GoogleTest stays: cmake/Dependencies.cmake looks it up unconditionally, even with BUILD_TESTING=OFF.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      librdkafka-dev libpqxx-dev libpq-dev libhiredis-dev libsimdjson-dev libspdlog-dev \
      libgtest-dev libgmock-dev librestinio-dev libasio-dev libhttp-parser-dev libfmt-dev \
      prometheus-cpp-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# RelWithDebInfo is the configuration the tests run (-Werror included), so the image carries the tested
# optimisation level; the debug info is stripped afterwards to keep the image small.
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
 && cmake --build /build --target clickstream \
 && strip --strip-debug -o /clickstream /build/src/clickstream

# --- dashboard -------------------------------------------------------------------------------------------
# The gateway's dashboard (web/dashboard), bundled by esbuild from the npm packages its lock file pins, as
# scripts/setup.sh and the CMake target `dashboard` do outside the image. Node.js stays in this stage.
FROM debian:bookworm AS dashboard

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /web
COPY web/dashboard/package.json web/dashboard/package-lock.json ./
# The optional build secret `host-ca` is a CA bundle for hosts whose HTTPS goes through a proxy of their own
# (scripts/container.sh passes this machine's); without it, Node.js warns that it is missing and uses its own.
RUN --mount=type=secret,id=host-ca NODE_EXTRA_CA_CERTS=/run/secrets/host-ca \
      npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY web/dashboard/ ./
RUN node build.mjs --outdir /dashboard

# --- runtime ---------------------------------------------------------------------------------------------
FROM debian:bookworm-slim

# The packages of the libraries the binary links directly (readelf -d ... NEEDED); apt brings their own
# dependencies (librdkafka1, libpq5, libssl3, libc-ares2, libre2-9, ...). libstdc++6, libgcc-s1 and libc6
# are already in bookworm-slim; they are named anyway so the list is the binary's whole story.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      libabsl20220623 \
      libcurl4 \
      libfmt9 \
      libgrpc++1.51 \
      libgrpc29 \
      libhiredis0.14 \
      libhttp-parser2.9 \
      libpqxx-6.4 \
      libprometheus-cpp-core1.0 \
      libprotobuf32 \
      librdkafka++1 \
      libsimdjson14 \
      libspdlog1.10 \
      libstdc++6 libgcc-s1 libc6 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 clickstream \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      clickstream

COPY --from=build /clickstream /usr/local/bin/clickstream
COPY --from=dashboard /dashboard /usr/local/share/clickstream/dashboard
ENV CLICKSTREAM_DASHBOARD_DIR=/usr/local/share/clickstream/dashboard

# Numeric, so Kubernetes' runAsNonRoot can verify it without resolving a user name.
USER 10001:10001

# ingestion, gateway, processor health, analytics health, analytics gRPC.
EXPOSE 8080 8081 8082 8083 50051

# No shell in the entrypoint: the process is PID 1 and receives SIGTERM itself, which starts its drain.
ENTRYPOINT ["/usr/local/bin/clickstream"]
CMD ["all"]
