#!/usr/bin/env bash
# Builds the clickstream container image from the repository's Dockerfile with Podman, on a machine with no
# Docker engine and no registry (Debian 12, root).
#
#   scripts/container.sh build [TAG]   the image (default clickstream:dev), making the base images first if needed
#   scripts/container.sh bases         only the Debian base images the Dockerfile's FROM lines name
#   scripts/container.sh env           prints the `export CONTAINERS_CONF=...` line for running podman by hand
#
# No registry is reachable, so the base images are made here: `debootstrap --variant=minbase bookworm` from
# the Debian mirror this machine's apt uses, with its apt sources and settings copied in (so `apt-get` in the
# Dockerfile reaches the same mirror), imported as debian:bookworm and tagged debian:bookworm-slim. Builds run
# with --pull=never and the host's network. Podman reads its settings from a file written under .state (see
# write_conf): runc, cgroupfs, and ulimits no higher than the host's, which these machines need.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONF_DIR="$REPO_DIR/.state/containers"
BASE_IMAGES=(debian:bookworm debian:bookworm-slim) # the Dockerfile's FROM lines

log() { printf 'container: %s\n' "$*" >&2; }
die() { printf 'container: error: %s\n' "$*" >&2; exit 1; }

# crun fails on this kernel's hybrid cgroup hierarchy, so runc; without systemd as init, cgroupfs and file
# events. A container may not raise a limit above the host's hard limit, and Podman's defaults (nofile 1048576)
# are higher than these machines allow, so every container starts from the host's own.
write_conf() {
  mkdir -p "$CONF_DIR"
  local nofile
  nofile="$(ulimit -Hn)"
  [[ $nofile == unlimited ]] && nofile=1048576
  cat >"$CONF_DIR/containers.conf" <<EOF
# Written by scripts/container.sh.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  export CONTAINERS_CONF="$CONF_DIR/containers.conf"
}

require_tools() {
  local tool
  for tool in podman debootstrap runc; do
    command -v "$tool" >/dev/null || die "$tool is missing: run scripts/setup.sh"
  done
}

# The first mirror this machine's apt uses for Debian itself.
debian_mirror() {
  local mirror
  mirror="$(grep -hoE '^(URIs:|deb)[[:space:]]+[^[:space:]]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
    2>/dev/null | awk '{print $2}' | grep -vE 'security|updates' | grep -E '/debian/?$' | head -n1)" || true
  echo "${mirror:-http://deb.debian.org/debian}"
}

make_bases() {
  local missing=() image
  for image in "${BASE_IMAGES[@]}"; do
    podman image exists "$image" || missing+=("$image")
  done
  if ((${#missing[@]} == 0)); then
    log "base images ${BASE_IMAGES[*]} already present"
    return
  fi
  local root mirror started=$SECONDS
  root="$(mktemp -d /var/tmp/clickstream-rootfs.XXXXXX)"
  trap 'rm -rf "$root"' RETURN
  mirror="$(debian_mirror)"
  log "making the Debian base images (debootstrap --variant=minbase bookworm from $mirror)"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$CONF_DIR/debootstrap.log" 2>&1 ||
    { tail -n 20 "$CONF_DIR/debootstrap.log" >&2; die "debootstrap failed (log: $CONF_DIR/debootstrap.log)"; }
  # The host's apt sources and settings, so the Dockerfile's apt-get reaches the mirror the host does.
  rm -f "$root/etc/apt/sources.list"
  cp -a /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2>/dev/null || true
  [[ -f /etc/apt/sources.list ]] && cp -a /etc/apt/sources.list "$root/etc/apt/sources.list"
  cp -a /etc/apt/apt.conf.d/99artifact-registry "$root/etc/apt/apt.conf.d/" 2>/dev/null || true
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | podman import --quiet --change 'CMD ["bash"]' - "${BASE_IMAGES[0]}" >/dev/null
  for image in "${BASE_IMAGES[@]:1}"; do podman tag "${BASE_IMAGES[0]}" "$image"; done
  log "base images ${BASE_IMAGES[*]} made in $((SECONDS - started)) s"
}

build_image() {
  local tag=$1 started=$SECONDS
  log "building $tag from Dockerfile"
  # The builder stages are tagged too, so that pruning what earlier builds left (each one's compiled tree is a
  # few hundred MiB) keeps the layers a rebuild reuses: the bases with their packages, the dashboard's npm ones.
  # The host's CA bundle is the dashboard stage's build secret `host-ca`, for npm's HTTPS through a proxy that
  # this machine trusts; a secret lands in no layer.
  local ca_bundle=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
  local build=(podman build --pull=never --network=host --layers -f "$REPO_DIR/Dockerfile")
  [[ -r $ca_bundle ]] && build+=(--secret "id=host-ca,src=$ca_bundle")
  "${build[@]}" --target build -t "${tag%%:*}-build:latest" "$REPO_DIR" >&2 &&
    "${build[@]}" --target dashboard -t "${tag%%:*}-dashboard:latest" "$REPO_DIR" >&2 &&
    "${build[@]}" -t "$tag" "$REPO_DIR" >&2 || die "podman build failed"
  podman image prune --force >/dev/null
  local size
  size="$(podman image inspect --format '{{.Size}}' "$tag")"
  log "built $tag in $((SECONDS - started)) s; image size $((size / 1024 / 1024)) MiB"
}

[[ $EUID -eq 0 ]] || die "must run as root (rootful Podman)"
command=${1:-}
case $command in
  build)
    require_tools
    write_conf
    make_bases
    build_image "${2:-clickstream:dev}"
    ;;
  bases)
    require_tools
    write_conf
    make_bases
    ;;
  env)
    write_conf
    echo "export CONTAINERS_CONF=$CONTAINERS_CONF"
    ;;
  -h | --help)
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    ;;
  *)
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
