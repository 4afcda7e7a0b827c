#!/usr/bin/env bash
# Offline checks of the deployment bundle (deploy/): no cluster and no Docker engine needed.
#
#   scripts/check-deploy.sh
#
# For every overlay under deploy/k8s/overlays:
#   1. render it with the pinned kustomize (not `kubectl kustomize`, whose kustomize varies by kubectl);
#   2. validate every rendered object against the Kubernetes $K8S_VERSION JSON schemas, strictly (unknown
#      fields fail), with kubernetes-validate, which ships the schemas;
# then check the alert rules with promtool and run their unit tests (tests/deploy/alerts_test.yml), and
# run tests/deploy/test_policy.py on the rendered overlays, the monitoring bundle and the Dockerfile.
#
# The tools come from scripts/setup.sh (into .state/tools). The prod overlay reads git-ignored secret
# files; it is rendered from a scratch copy where they are made from the committed *.env.example files, so
# the check runs on a fresh clone and never reads real credentials.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$REPO_DIR/.state/tools"
KUSTOMIZE="$TOOLS_DIR/bin/kustomize"
PROMTOOL="$TOOLS_DIR/bin/promtool"
VENV="$TOOLS_DIR/venv"
# The oldest Kubernetes the manifests support: the preStop `sleep` action is on by default from 1.30.
K8S_VERSION=1.30.0

log() { printf 'check-deploy: %s\n' "$*"; }
die() { printf 'check-deploy: error: %s\n' "$*" >&2; exit 1; }

[[ -x $KUSTOMIZE ]] || die "$KUSTOMIZE is missing: run scripts/setup.sh"
[[ -x $VENV/bin/kubernetes-validate && -x $VENV/bin/python ]] ||
  die "$VENV lacks kubernetes-validate: run scripts/setup.sh"
[[ -x $PROMTOOL ]] || die "$PROMTOOL is missing: run scripts/setup.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The scratch copy keeps the layout the base relies on (deploy/k8s/base -> ../../../infra).
mkdir -p "$work/tree/deploy"
cp -R "$REPO_DIR/deploy/k8s" "$work/tree/deploy/k8s"
cp -R "$REPO_DIR/infra" "$work/tree/infra"
for example in "$work"/tree/deploy/k8s/overlays/*/secrets/*.env.example; do
  [[ -e $example ]] || continue
  cp "$example" "${example%.example}"
done

# Every check runs even after one failed, so a single run shows every problem; the exit status says
# whether any failed.
failures=()
fail() { printf 'check-deploy: FAILED: %s\n' "$*" >&2; failures+=("$*"); }

policy_args=()
for overlay_dir in "$work"/tree/deploy/k8s/overlays/*/; do
  overlay="$(basename "$overlay_dir")"
  rendered="$work/$overlay.yaml"
  if ! "$KUSTOMIZE" build "$overlay_dir" >"$rendered"; then
    fail "kustomize could not render overlay $overlay"
    continue
  fi
  count="$(grep -c '^kind: ' "$rendered" || true)"
  kinds="$(grep '^kind: ' "$rendered" | cut -d' ' -f2 | sort | uniq -c |
    awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }')"
  log "$overlay: rendered $count objects ($kinds)"
  if "$VENV/bin/kubernetes-validate" --kubernetes-version "$K8S_VERSION" --strict --quiet "$rendered"; then
    log "$overlay: all $count objects valid against the Kubernetes $K8S_VERSION schemas (strict)"
  else
    fail "$overlay: objects do not validate against the Kubernetes $K8S_VERSION schemas"
  fi
  policy_args+=(--overlay "$overlay=$rendered")
done

# Debian's promtool lacks Kubernetes service discovery, so prometheus.yml is checked by the policy test
# (structure) rather than by `promtool check config`.
if ! "$PROMTOOL" check rules "$REPO_DIR/deploy/monitoring/alerts.yml" >"$work/promtool.log" 2>&1; then
  cat "$work/promtool.log" >&2
  fail "promtool rejects deploy/monitoring/alerts.yml"
elif ! (cd "$REPO_DIR/tests/deploy" && "$PROMTOOL" test rules alerts_test.yml >"$work/promtool.log" 2>&1); then
  cat "$work/promtool.log" >&2
  fail "alert rule unit tests (tests/deploy/alerts_test.yml)"
else
  log "promtool: alerts.yml valid, its unit tests (tests/deploy/alerts_test.yml) pass"
fi

# The policy test prints one line per rule and ends with `N passed, M failed`.
"$VENV/bin/python" "$REPO_DIR/tests/deploy/test_policy.py" --repo "$REPO_DIR" "${policy_args[@]}" ||
  fail "policy rules (tests/deploy/test_policy.py)"

if ((${#failures[@]} > 0)); then
  printf 'check-deploy: %d check(s) failed\n' "${#failures[@]}" >&2
  exit 1
fi
