#!/usr/bin/env bash
# Installs everything needed to build clickstream and run its infrastructure locally (Debian 12).
#
#   scripts/setup.sh
#
# Idempotent and quick on a machine that is already set up: apt is only touched when a package is
# missing, and the Kafka jars are only fetched when they are absent or the pom changed.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_POM="$REPO_DIR/scripts/kafka/pom.xml"
KAFKA_LIBS="$REPO_DIR/.state/kafka/libs"

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config
  # the house tools (.clang-format, .clang-tidy; scripts/lint.sh)
  clang-format-14 clang-tidy-14
  # libFuzzer for scripts/fuzz.sh (clang-14 and its fuzzer/sanitizer runtimes; GCC's cover scripts/sanitize.sh)
  clang-14 libclang-rt-14-dev
  # C++ libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librdkafka-dev libpqxx-dev libpq-dev libhiredis-dev libsimdjson-dev libspdlog-dev
  libgtest-dev libgmock-dev librestinio-dev libasio-dev libhttp-parser-dev libfmt-dev libssl-dev
  # metrics: we link only prometheus-cpp's core; the -dev package also brings pull (civetweb) and push (curl)
  prometheus-cpp-dev
  # the TLS tests: throwaway certificates (openssl) and an HTTPS client (libcurl)
  openssl libcurl4-openssl-dev
  # infrastructure run as local processes by scripts/infra.sh (Kafka comes from Maven Central)
  postgresql-15 redis-server default-jre-headless maven
  curl
  # the benchmark's ceilings (bench/run.sh): a static HTTP responder and redis-benchmark
  nginx-light redis-tools
  # the container image, built and run without a Docker engine or a registry (scripts/container.sh)
  podman runc debootstrap
  # the dashboard's and the tracker's tests in a real browser (tests/browser), with a font to draw their text
  chromium fonts-dejavu-core
)

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (installs Debian packages)"

# --- Debian packages -------------------------------------------------------------------------------

# One dpkg-query call for all packages: much faster than apt-get when everything is present.
# Packages never seen by dpkg produce no output line at all, hence the comparison against the list.
missing_packages() {
  local installed
  installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null |
    awk '$2 == "installed" { print $1 }')" || true
  local p
  for p in "${PACKAGES[@]}"; do
    grep -qxF "$p" <<<"$installed" || printf '%s\n' "$p"
  done
}

mapfile -t MISSING < <(missing_packages)
if ((${#MISSING[@]} > 0)); then
  log "installing: ${MISSING[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${MISSING[@]}"
else
  log "all ${#PACKAGES[@]} Debian packages already installed"
fi

# --- System services -------------------------------------------------------------------------------

# Debian starts PostgreSQL, Redis and nginx as system services on install. We run our own instances under a
# state directory (scripts/infra.sh; nginx only for bench/run.sh), and the system ones would hold ports.
# Stop and disable them; failures are fine (e.g. no init system in a container).
disable_system_service() {
  local svc="$1"
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    if systemctl is-active --quiet "$svc" || systemctl is-enabled --quiet "$svc" 2>/dev/null; then
      log "stopping and disabling system service $svc"
      systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
  elif command -v service >/dev/null; then
    if service "$svc" status >/dev/null 2>&1; then
      log "stopping system service $svc"
      service "$svc" stop >/dev/null 2>&1 || true
    fi
    # Without systemd, keep it from coming back at the next boot via the sysv runlevel links.
    if command -v update-rc.d >/dev/null && [[ -e /etc/init.d/$svc ]]; then
      update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
  fi
}
disable_system_service postgresql
disable_system_service redis-server
disable_system_service nginx

# --- Kafka broker jars -----------------------------------------------------------------------------

# The version lives in one place, the pom; the broker jar named after it marks a completed fetch.
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n1)"
[[ -n $KAFKA_VERSION ]] || die "could not read kafka.version from $KAFKA_POM"
KAFKA_JAR="$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar"

# A stamp of the pom catches edits that keep the Kafka version (e.g. a logging dependency change):
# old jars left next to new ones would put two versions of a library on the classpath.
POM_STAMP="$KAFKA_LIBS/.pom.sha256"
pom_sum="$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"

if [[ -f $KAFKA_JAR && -f $POM_STAMP && "$(cat "$POM_STAMP")" == "$pom_sum" ]]; then
  log "Kafka $KAFKA_VERSION jars already in ${KAFKA_LIBS#"$REPO_DIR"/}"
else
  log "fetching Kafka $KAFKA_VERSION and its runtime dependencies from Maven Central"
  # Copy into a scratch directory and swap it in, so an interrupted download never leaves a
  # half-populated libs directory that looks complete.
  tmp_libs="$KAFKA_LIBS.tmp.$$"
  rm -rf "$tmp_libs"
  mkdir -p "$(dirname "$KAFKA_LIBS")"
  trap 'rm -rf "$tmp_libs"' EXIT
  # Maven 3.8 prints stray ANSI resets even with -q -B, so keep its output out of the way and only
  # show it when something went wrong.
  mvn_log="$(dirname "$KAFKA_LIBS")/mvn.log"
  if ! mvn -q -B -f "$KAFKA_POM" dependency:copy-dependencies \
    -DoutputDirectory="$tmp_libs" -DincludeScope=runtime >"$mvn_log" 2>&1; then
    cat "$mvn_log" >&2
    die "maven could not fetch the Kafka jars (log: $mvn_log)"
  fi
  [[ -f $tmp_libs/kafka_2.13-$KAFKA_VERSION.jar ]] ||
    die "maven finished but kafka_2.13-$KAFKA_VERSION.jar is not in the output"
  printf '%s\n' "$pom_sum" >"$tmp_libs/.pom.sha256"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp_libs" "$KAFKA_LIBS"
  trap - EXIT
  log "Kafka jars: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) in ${KAFKA_LIBS#"$REPO_DIR"/}"
fi

# --- Zipkin, the tracing backend of tests/e2e/tracing_test.py ------------------------------------------

# Zipkin's self-contained server jar (its `exec` classifier), from Maven Central; the file named after the version
# marks a completed fetch.
ZIPKIN_VERSION=3.4.2
ZIPKIN_DIR="$REPO_DIR/.state/zipkin"
ZIPKIN_JAR="$ZIPKIN_DIR/zipkin-server-$ZIPKIN_VERSION-exec.jar"
if [[ -f $ZIPKIN_JAR ]]; then
  log "Zipkin $ZIPKIN_VERSION already in ${ZIPKIN_DIR#"$REPO_DIR"/}"
else
  log "fetching Zipkin $ZIPKIN_VERSION (io.zipkin:zipkin-server, exec jar) from Maven Central"
  mkdir -p "$ZIPKIN_DIR"
  if ! mvn -q -B dependency:copy -Dartifact="io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec" \
    -DoutputDirectory="$ZIPKIN_DIR.tmp.$$" >"$ZIPKIN_DIR/mvn.log" 2>&1; then
    cat "$ZIPKIN_DIR/mvn.log" >&2
    rm -rf "$ZIPKIN_DIR.tmp.$$"
    die "maven could not fetch the Zipkin server jar (log: $ZIPKIN_DIR/mvn.log)"
  fi
  mv "$ZIPKIN_DIR.tmp.$$/zipkin-server-$ZIPKIN_VERSION-exec.jar" "$ZIPKIN_JAR"
  rm -rf "$ZIPKIN_DIR.tmp.$$"
fi

# --- The dashboard's npm packages (web/dashboard) ----------------------------------------------------

# esbuild bundles the dashboard at build time (src/CMakeLists.txt); nothing from npm runs in a service. Installed
# exactly as package-lock.json pins them, without install scripts (esbuild's only checks its binary, which comes
# in its platform package); the lock file's digest marks a completed install.
DASHBOARD_DIR="$REPO_DIR/web/dashboard"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "installing Node.js and npm from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
fi
lock_sum="$(sha256sum "$DASHBOARD_DIR/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$DASHBOARD_DIR/node_modules/.lock.sha256" 2>/dev/null)" == "$lock_sum" ]]; then
  log "dashboard npm packages already in ${DASHBOARD_DIR#"$REPO_DIR"/}/node_modules"
else
  log "installing the dashboard's npm packages (npm ci) in ${DASHBOARD_DIR#"$REPO_DIR"/}"
  (cd "$DASHBOARD_DIR" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) ||
    die "npm ci failed in $DASHBOARD_DIR"
  printf '%s\n' "$lock_sum" >"$DASHBOARD_DIR/node_modules/.lock.sha256"
fi

# --- Deployment check tools (scripts/check-deploy.sh) -----------------------------------------------

# kustomize renders deploy/k8s offline; pinned and built from its Go module with the machine's Go (v5.8.2
# is the newest whose go.mod Go 1.26 accepts; GOTOOLCHAIN=local so a mismatch fails here instead of
# fetching another toolchain). kubernetes-validate ships the Kubernetes JSON schemas, so validation needs no
# network either; PyYAML is for tests/deploy/test_policy.py; Playwright drives Debian's Chromium in the browser
# tests (tests/browser: its launch names /usr/bin/chromium, so it never downloads a browser); schemathesis tests the
# live services against their OpenAPI documents (tests/api). All live under .state/tools.
KUSTOMIZE_VERSION=v5.8.2
TOOLS_PY_REQUIREMENTS="kubernetes-validate==1.37.0 PyYAML==6.0.3 playwright==1.65.2 schemathesis==4.32.5"
TOOLS_DIR="$REPO_DIR/.state/tools"

if [[ "$("$TOOLS_DIR/bin/kustomize" version 2>/dev/null)" == "$KUSTOMIZE_VERSION" ]]; then
  log "kustomize $KUSTOMIZE_VERSION already in ${TOOLS_DIR#"$REPO_DIR"/}/bin"
else
  go_bin="$(command -v go || true)"
  [[ -n $go_bin ]] || go_bin=/usr/local/go/bin/go
  [[ -x $go_bin ]] || die "Go is needed to build kustomize and was not found"
  log "building kustomize $KUSTOMIZE_VERSION into ${TOOLS_DIR#"$REPO_DIR"/}/bin"
  mkdir -p "$TOOLS_DIR"
  if ! GOBIN="$TOOLS_DIR/bin" GOTOOLCHAIN=local "$go_bin" install \
    "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >"$TOOLS_DIR/kustomize-build.log" 2>&1; then
    cat "$TOOLS_DIR/kustomize-build.log" >&2
    die "could not build kustomize $KUSTOMIZE_VERSION (log: $TOOLS_DIR/kustomize-build.log)"
  fi
fi

tools_venv="$TOOLS_DIR/venv"
if [[ -x $tools_venv/bin/python &&
  "$(cat "$tools_venv/.requirements" 2>/dev/null)" == "$TOOLS_PY_REQUIREMENTS" ]]; then
  log "tools venv already in ${tools_venv#"$REPO_DIR"/}"
else
  log "creating ${tools_venv#"$REPO_DIR"/} with $TOOLS_PY_REQUIREMENTS"
  rm -rf "$tools_venv"
  if ! python3 -m venv "$tools_venv" 2>/dev/null; then
    # Debian's own python3 needs python3-venv for this.
    rm -rf "$tools_venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv
    python3 -m venv "$tools_venv"
  fi
  # shellcheck disable=SC2086 # the requirements are separate words
  "$tools_venv/bin/pip" install -q --disable-pip-version-check $TOOLS_PY_REQUIREMENTS
  printf '%s\n' "$TOOLS_PY_REQUIREMENTS" >"$tools_venv/.requirements"
fi

# promtool checks and unit-tests the alert rules (tests/deploy/alerts_test.yml); the prometheus server scrapes
# the services in tests/monitoring/prometheus_test.py. Only the two binaries are unpacked from Debian's
# prometheus package (static Go programs): no daemon, no service started, no dependencies. Debian builds them
# without Kubernetes service discovery, so they cannot load deploy/monitoring/prometheus.yml's pod job itself.
if [[ -x $TOOLS_DIR/bin/promtool && -x $TOOLS_DIR/bin/prometheus ]]; then
  log "promtool and prometheus already in ${TOOLS_DIR#"$REPO_DIR"/}/bin"
else
  log "unpacking promtool and prometheus from Debian's prometheus package into ${TOOLS_DIR#"$REPO_DIR"/}/bin"
  deb_dir="$(mktemp -d)"
  if ! (cd "$deb_dir" && apt-get download -q prometheus >/dev/null 2>&1); then
    apt-get update -q >/dev/null
    (cd "$deb_dir" && apt-get download -q prometheus >/dev/null)
  fi
  dpkg-deb --fsys-tarfile "$deb_dir"/prometheus_*.deb | tar -x -C "$deb_dir" ./usr/bin/promtool ./usr/bin/prometheus
  mkdir -p "$TOOLS_DIR/bin"
  install -m 0755 "$deb_dir/usr/bin/promtool" "$deb_dir/usr/bin/prometheus" "$TOOLS_DIR/bin/"
  rm -rf "$deb_dir"
fi

log "done"
