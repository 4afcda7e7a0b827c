#!/usr/bin/env python3
"""Policy test of the deployment bundle: what issue 4 asks of the manifests, checked on rendered overlays.

    tests/deploy/test_policy.py --repo . --overlay dev=dev.yaml --overlay prod=prod.yaml

scripts/check-deploy.sh renders the overlays and runs this with the venv of scripts/setup.sh (PyYAML).
Prints one line per rule and overlay, then `N passed, M failed`; exits non-zero when a rule fails.
Network reachability is evaluated with the NetworkPolicy semantics (a pod selected by an ingress policy
accepts only what some rule of such a policy allows), not by matching the text of the manifests.
"""

import argparse
import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

APP_NS = "app-layer"
DATA_NS = "data-layer"
SERVICES = ("ingestion", "processor", "analytics", "gateway")
DATA_SERVICES = ("postgres", "redis", "redpanda")
# Each service's HTTP port (health, readiness, metrics) and the setting that sets it.
HTTP_PORT = {"ingestion": 8080, "gateway": 8081, "processor": 8082, "analytics": 8083}
PORT_ENV = {
    "ingestion": {"CLICKSTREAM_INGESTION_PORT": 8080},
    "gateway": {"CLICKSTREAM_GATEWAY_PORT": 8081},
    "processor": {"CLICKSTREAM_PROCESSOR_PORT": 8082},
    "analytics": {"CLICKSTREAM_ANALYTICS_PORT": 50051, "CLICKSTREAM_ANALYTICS_HEALTH_PORT": 8083},
}
ANALYTICS_GRPC_PORT = 50051
DEV_NODEPORTS = {"ingestion": 30080, "gateway": 30081, "analytics": 30051}
SECRET_KEYS = ("DATABASE_URL", "KAFKA_BROKER", "REDIS_ADDR", "CLICKSTREAM_INGEST_API_KEYS",
               "CLICKSTREAM_QUERY_API_KEYS", "CLICKSTREAM_ADMIN_API_KEYS")
# Which app-layer service may reach which data-layer port, and nothing else may.
DATA_PORTS = {"postgres": 5432, "redis": 6379, "redpanda": 9092}
DATA_CLIENTS = {
    "postgres": {"processor", "analytics"},
    "redis": {"processor", "analytics"},
    "redpanda": {"ingestion", "processor", "analytics"},
}
INIT_JOB_TARGET = {"schema-init": "postgres", "topics-init": "redpanda"}
# Containers allowed a writable root filesystem, with the reason (the rule fails on any other).
WRITABLE_ROOT_OK = {
    (DATA_NS, "redpanda", "redpanda"): "rpk writes /etc/redpanda/redpanda.yaml at start",
}
PROD_HPA = ("ingestion", "gateway", "analytics")
MIN_GRACE_S = 15

# The metric names the services expose (issue 4); dashboards and alerts may use no other.
HISTOGRAMS = {
    "clickstream_http_request_duration_seconds", "clickstream_kafka_produce_duration_seconds",
    "clickstream_processor_batch_records", "clickstream_freshness_seconds", "clickstream_db_duration_seconds",
    "clickstream_redis_duration_seconds",
}
SCALARS = {
    "clickstream_http_requests_total", "clickstream_ingest_in_flight", "clickstream_kafka_produce_errors_total",
    "clickstream_processor_records_total", "clickstream_processor_events_counted_total",
    "clickstream_processor_duplicates_total", "clickstream_processor_dead_letters_total",
    "clickstream_consumer_lag_records", "clickstream_db_errors_total", "clickstream_redis_errors_total",
    "clickstream_cache_hits_total", "clickstream_cache_misses_total", "clickstream_cache_errors_total",
    "clickstream_processor_stalled_seconds", "clickstream_processor_refused_events_total",
    "clickstream_processor_late_events_total", "clickstream_processor_invalid_events_total",
    "clickstream_ingest_invalid_events_total", "clickstream_reconcile_checked_pairs_total",
    "clickstream_reconcile_drift_pairs_total", "clickstream_reconcile_drift_pairs", "clickstream_reconcile_errors_total",
}
KNOWN_METRICS = SCALARS | {h + s for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count")}
DASHBOARD_TOPICS = {
    "ingest rate": ["clickstream_http_requests_total"],
    "freshness": ["clickstream_freshness_seconds_bucket"],
    "consumer lag": ["clickstream_consumer_lag_records"],
    "query latency": ["clickstream_http_request_duration_seconds_bucket"],
    "cache hit ratio": ["clickstream_cache_hits_total", "clickstream_cache_misses_total"],
    "errors by service": ["clickstream_http_requests_total"],
}
ALERT_TOPICS = {
    "consumer lag": "clickstream_consumer_lag_records",
    "error rate": "clickstream_http_requests_total",
    "dead letters": "clickstream_processor_dead_letters_total",
    "service down": "up",
}


# --- the rendered objects ---------------------------------------------------------------------------------

class Bundle:
    """The objects of one rendered overlay, with look-ups the rules share."""

    def __init__(self, name, docs):
        self.name = name
        self.objects = [d for d in docs if d]

    def of(self, kind, namespace=None):
        return [o for o in self.objects
                if o["kind"] == kind and (namespace is None or o["metadata"].get("namespace") == namespace)]

    def get(self, kind, namespace, name):
        for o in self.of(kind, namespace):
            if o["metadata"]["name"] == name:
                return o
        raise AssertionError(f"{kind} {namespace}/{name} is missing")

    def workloads(self):
        """(object, pod template) of everything that runs pods."""
        out = []
        for kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            out += [(o, o["spec"]["template"]) for o in self.of(kind)]
        for o in self.of("CronJob"):
            out.append((o, o["spec"]["jobTemplate"]["spec"]["template"]))
        for o in self.of("Pod"):
            out.append((o, o))
        return out

    def containers(self):
        """(workload, pod spec, container, is_init) for every container of every pod template."""
        out = []
        for w, tpl in self.workloads():
            spec = tpl["spec"]
            out += [(w, spec, c, False) for c in spec.get("containers", [])]
            out += [(w, spec, c, True) for c in spec.get("initContainers", [])]
        return out

    def app_deployment(self, service):
        return self.get("Deployment", APP_NS, service)

    def namespace_labels(self, ns):
        labels = {"kubernetes.io/metadata.name": ns}
        for o in self.of("Namespace"):
            if o["metadata"]["name"] == ns:
                labels.update(o["metadata"].get("labels") or {})
        return labels

    def secret_data(self, namespace, name):
        s = self.get("Secret", namespace, name)
        data = {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}
        data.update(s.get("stringData") or {})
        return data

    def configmap(self, namespace, name):
        """A ConfigMap by its name before kustomize's hash suffix (or exact)."""
        for o in self.of("ConfigMap", namespace):
            n = o["metadata"]["name"]
            if n == name or re.fullmatch(re.escape(name) + r"-[a-z0-9]{10}", n):
                return o
        raise AssertionError(f"ConfigMap {namespace}/{name} is missing")


def wname(w):
    return f'{w["kind"]} {w["metadata"].get("namespace", "")}/{w["metadata"]["name"]}'


def cname(w, c):
    return f'{wname(w)} container {c["name"]}'


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def long_running(w):
    return w["kind"] in ("Deployment", "StatefulSet", "DaemonSet")


def effective(spec, c, key):
    """A securityContext field as it applies to the container (container overrides pod)."""
    own = (c.get("securityContext") or {}).get(key)
    return own if own is not None else (spec.get("securityContext") or {}).get(key)


# --- NetworkPolicy semantics ------------------------------------------------------------------------------

def selector_matches(selector, labels):
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        k, op, values = e["key"], e["operator"], e.get("values", [])
        if op == "In" and labels.get(k) not in values:
            return False
        if op == "NotIn" and k in labels and labels[k] in values:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def port_matches(rule_ports, port_number, port_name):
    if not rule_ports:
        return True  # a rule without ports allows every port
    for p in rule_ports:
        if p.get("protocol", "TCP") != "TCP":
            continue
        want = p.get("port")
        if want is None:
            return True
        if isinstance(want, int):
            if want == port_number or (p.get("endPort") and want <= port_number <= p["endPort"]):
                return True
        elif port_name is not None and want == port_name:
            return True
    return False


def peer_matches(b, peer, policy_ns, src_ns, src_labels):
    if "ipBlock" in peer:
        return src_ns is None  # an address range: only sources outside the cluster count here
    if src_ns is None:
        return False
    ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
    if ns_sel is None:
        ns_ok = src_ns == policy_ns
    else:
        ns_ok = selector_matches(ns_sel, b.namespace_labels(src_ns))
    pod_ok = True if pod_sel is None else selector_matches(pod_sel, src_labels)
    return ns_ok and pod_ok


def ingress_policies(b, ns, pod_labels):
    out = []
    for np in b.of("NetworkPolicy", ns):
        spec = np["spec"]
        types = spec.get("policyTypes") or (["Ingress", "Egress"] if "egress" in spec else ["Ingress"])
        if "Ingress" in types and selector_matches(spec.get("podSelector", {}), pod_labels):
            out.append(np)
    return out


def ingress_allowed(b, dst_ns, dst_labels, port_number, port_name, src_ns, src_labels):
    """Whether a connection from (src_ns, src_labels) reaches the pod on the port. src_ns None: outside."""
    policies = ingress_policies(b, dst_ns, dst_labels)
    if not policies:
        return True  # not isolated
    for np in policies:
        for rule in np["spec"].get("ingress") or []:
            if not port_matches(rule.get("ports"), port_number, port_name):
                continue
            peers = rule.get("from")
            if not peers:
                return True  # from anywhere
            if any(peer_matches(b, p, dst_ns, src_ns, src_labels) for p in peers):
                return True
    return False


def pod_labels(b, ns, name):
    for w, tpl in b.workloads():
        if w["metadata"].get("namespace") == ns and w["metadata"]["name"] == name:
            return tpl["metadata"].get("labels") or {}
    raise AssertionError(f"no workload {ns}/{name}")


def container_port(b, ns, name, number):
    for w, spec, c, _ in b.containers():
        if w["metadata"].get("namespace") == ns and w["metadata"]["name"] == name:
            for p in c.get("ports", []):
                if p["containerPort"] == number:
                    return p.get("name")
    raise AssertionError(f"{ns}/{name} declares no container port {number}")


# --- rules on every overlay -------------------------------------------------------------------------------

RULES = []


def rule(text, only=None):
    def register(fn):
        RULES.append((text, only, fn))
        return fn
    return register


@rule("namespaces app-layer and data-layer exist; every namespaced object is in one of them")
def _(b):
    names = {o["metadata"]["name"] for o in b.of("Namespace")}
    assert {APP_NS, DATA_NS} <= names, f"namespaces: {sorted(names)}"
    for o in b.objects:
        if o["kind"] in ("Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"):
            continue
        assert o["metadata"].get("namespace") in (APP_NS, DATA_NS), f'{o["kind"]} {o["metadata"]["name"]}: ' \
            f'namespace {o["metadata"].get("namespace")!r}'


@rule("every object is labelled app.kubernetes.io/part-of=clickstream; workloads and pods carry app.kubernetes.io/name")
def _(b):
    for o in b.objects:
        labels = o["metadata"].get("labels") or {}
        assert labels.get("app.kubernetes.io/part-of") == "clickstream", f'{o["kind"]} {o["metadata"]["name"]}'
    for w, tpl in b.workloads():
        assert (w["metadata"].get("labels") or {}).get("app.kubernetes.io/name"), wname(w)
        assert (tpl["metadata"].get("labels") or {}).get("app.kubernetes.io/name"), f"{wname(w)} pod template"
    # Claim templates carry their labels in the manifests: kustomize versions differ on adding them, and
    # a StatefulSet's claim templates are immutable, so a different renderer would make apply fail.
    for st in b.of("StatefulSet"):
        for t in st["spec"].get("volumeClaimTemplates", []):
            labels = t["metadata"].get("labels") or {}
            assert labels.get("app.kubernetes.io/part-of") == "clickstream", f"{wname(st)} claim template"


@rule("four app Deployments, each running its service from one pinned clickstream image via args")
def _(b):
    images = set()
    for s in SERVICES:
        d = b.app_deployment(s)
        [c] = d["spec"]["template"]["spec"]["containers"]
        assert c.get("args") == [s], f"{s}: args {c.get('args')}"
        assert "command" not in c, f"{s}: overrides the image's entrypoint"
        images.add(c["image"])
    assert len(images) == 1, f"the services use different images: {sorted(images)}"
    [image] = images
    assert re.fullmatch(r"(.+/)?clickstream:[\w.-]+", image), image


@rule("data services are StatefulSets with volumeClaimTemplates, a headless and a ClusterIP Service")
def _(b):
    for s in DATA_SERVICES:
        st = b.get("StatefulSet", DATA_NS, s)
        assert st["spec"].get("volumeClaimTemplates"), f"{s}: no volumeClaimTemplates"
        mounts = {m["name"] for c in st["spec"]["template"]["spec"]["containers"] for m in c.get("volumeMounts", [])}
        for t in st["spec"]["volumeClaimTemplates"]:
            assert t["metadata"]["name"] in mounts, f"{s}: claim {t['metadata']['name']} not mounted"
        headless = b.get("Service", DATA_NS, st["spec"]["serviceName"])
        assert headless["spec"].get("clusterIP") == "None", f"{s}: {headless['metadata']['name']} is not headless"
        svc = b.get("Service", DATA_NS, s)
        assert svc["spec"].get("type", "ClusterIP") == "ClusterIP" and svc["spec"].get("clusterIP") != "None", s
        assert any(p["port"] == DATA_PORTS[s] for p in svc["spec"]["ports"]), f"{s}: Service lacks {DATA_PORTS[s]}"
        assert selector_matches({"matchLabels": svc["spec"]["selector"]}, pod_labels(b, DATA_NS, s)), s


@rule("no image uses `latest` or lacks a tag")
def _(b):
    for w, spec, c, _ in b.containers():
        image = c["image"]
        if "@sha256:" in image:
            continue
        last = image.rsplit("/", 1)[-1]
        assert ":" in last, f"{cname(w, c)}: {image} has no tag"
        assert last.rsplit(":", 1)[1] != "latest", f"{cname(w, c)}: {image}"


@rule("every Deployment/StatefulSet container has liveness and readiness probes")
def _(b):
    n = 0
    for w, spec, c, init in b.containers():
        if long_running(w) and not init:
            assert c.get("livenessProbe"), f"{cname(w, c)}: no livenessProbe"
            assert c.get("readinessProbe"), f"{cname(w, c)}: no readinessProbe"
            n += 1
    assert n >= len(SERVICES) + len(DATA_SERVICES), f"only {n} containers checked"


@rule("services probe GET /healthz (liveness) and /readyz (readiness) on their HTTP port")
def _(b):
    for s in SERVICES:
        [c] = b.app_deployment(s)["spec"]["template"]["spec"]["containers"]
        ports = {p.get("name"): p["containerPort"] for p in c["ports"]}
        for kind, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = c[kind].get("httpGet")
            assert get and get["path"] == path, f"{s}: {kind} is not GET {path}"
            port = ports.get(get["port"], get["port"])
            assert port == HTTP_PORT[s], f"{s}: {kind} on port {port}, expected {HTTP_PORT[s]}"


@rule("analytics also has a gRPC probe (grpc.health.v1) on 50051")
def _(b):
    [c] = b.app_deployment("analytics")["spec"]["template"]["spec"]["containers"]
    grpc = [c[k]["grpc"] for k in ("startupProbe", "livenessProbe", "readinessProbe") if c.get(k, {}).get("grpc")]
    assert grpc and grpc[0]["port"] == ANALYTICS_GRPC_PORT, "no grpc probe on 50051"


@rule("every container has CPU and memory requests and limits")
def _(b):
    for w, spec, c, _ in b.containers():
        r = c.get("resources") or {}
        for part in ("requests", "limits"):
            for res in ("cpu", "memory"):
                assert (r.get(part) or {}).get(res), f"{cname(w, c)}: no {part}.{res}"


@rule("every container runs as non-root (runAsNonRoot, or runAsUser != 0)")
def _(b):
    for w, spec, c, _ in b.containers():
        user = effective(spec, c, "runAsUser")
        assert user != 0, f"{cname(w, c)}: runAsUser 0"
        assert effective(spec, c, "runAsNonRoot") is True or user is not None, f"{cname(w, c)}: may run as root"


@rule("app-layer services run as uid 10001, the image's user")
def _(b):
    for s in SERVICES:
        spec = b.app_deployment(s)["spec"]["template"]["spec"]
        for c in spec["containers"]:
            assert effective(spec, c, "runAsUser") == 10001, f"{s}: runAsUser {effective(spec, c, 'runAsUser')}"


@rule("read-only root filesystem (every container but the listed exceptions)")
def _(b):
    for w, spec, c, _ in b.containers():
        key = (w["metadata"].get("namespace"), w["metadata"]["name"], c["name"])
        ro = (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is True
        if key in WRITABLE_ROOT_OK:
            continue
        assert ro, f"{cname(w, c)}: readOnlyRootFilesystem is not true"
    assert not any(ns == APP_NS for ns, _, _ in WRITABLE_ROOT_OK), "app-layer may have no exception"


@rule("allowPrivilegeEscalation false, capabilities drop ALL (none added), seccomp RuntimeDefault")
def _(b):
    for w, spec, c, _ in b.containers():
        sc = c.get("securityContext") or {}
        assert sc.get("allowPrivilegeEscalation") is False, f"{cname(w, c)}: allowPrivilegeEscalation"
        assert sc.get("privileged") is not True, f"{cname(w, c)}: privileged"
        caps = sc.get("capabilities") or {}
        assert "ALL" in (caps.get("drop") or []), f"{cname(w, c)}: capabilities not dropped"
        assert not caps.get("add"), f"{cname(w, c)}: adds {caps.get('add')}"
        seccomp = effective(spec, c, "seccompProfile") or {}
        assert seccomp.get("type") in ("RuntimeDefault", "Localhost"), f"{cname(w, c)}: seccomp {seccomp}"
    for w, tpl in b.workloads():
        spec = tpl["spec"]
        assert not (spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC")), wname(w)


@rule("each app Deployment has its own ServiceAccount, token automount off; no Role/ClusterRole bindings")
def _(b):
    seen = set()
    for s in SERVICES:
        spec = b.app_deployment(s)["spec"]["template"]["spec"]
        sa_name = spec.get("serviceAccountName")
        assert sa_name and sa_name != "default", f"{s}: uses the default ServiceAccount"
        assert sa_name not in seen, f"{s}: shares ServiceAccount {sa_name}"
        seen.add(sa_name)
        sa = b.get("ServiceAccount", APP_NS, sa_name)
        assert sa.get("automountServiceAccountToken") is False, f"ServiceAccount {sa_name} mounts its token"
        assert spec.get("automountServiceAccountToken") is not True, f"{s}: pod mounts the token"
    for w, tpl in b.workloads():
        assert tpl["spec"].get("automountServiceAccountToken") is False, f"{wname(w)}: token mounted"
    rbac = [o for o in b.objects if o["kind"] in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")]
    assert not rbac, f'RBAC objects: {[o["kind"] + " " + o["metadata"]["name"] for o in rbac]}'


@rule("rolling updates never drop below the ready replicas (maxUnavailable 0)")
def _(b):
    for d in b.of("Deployment"):
        st = d["spec"].get("strategy") or {}
        assert st.get("type", "RollingUpdate") == "RollingUpdate", f"{wname(d)}: {st.get('type')}"
        mu = (st.get("rollingUpdate") or {}).get("maxUnavailable")
        assert mu in (0, "0", "0%"), f"{wname(d)}: maxUnavailable {mu!r}"


@rule(f"terminationGracePeriodSeconds >= {MIN_GRACE_S} and > preStop sleep + CLICKSTREAM_SHUTDOWN_GRACE_MS")
def _(b):
    for s in SERVICES:
        spec = b.app_deployment(s)["spec"]["template"]["spec"]
        grace = spec.get("terminationGracePeriodSeconds", 30)
        [c] = spec["containers"]
        drain_ms = int(env_of(c).get("CLICKSTREAM_SHUTDOWN_GRACE_MS", {}).get("value", "10000"))
        pre_stop = ((c.get("lifecycle") or {}).get("preStop") or {})
        assert "exec" not in pre_stop, f"{s}: preStop exec needs a shell the image may not have"
        sleep_s = (pre_stop.get("sleep") or {}).get("seconds", 0)
        assert grace >= MIN_GRACE_S, f"{s}: terminationGracePeriodSeconds {grace}"
        assert grace > sleep_s + drain_ms / 1000, f"{s}: {grace} s <= preStop {sleep_s} s + drain {drain_ms} ms"


@rule("service ports agree: the port settings, containerPorts, Services and prometheus.io/port")
def _(b):
    for s in SERVICES:
        tpl = b.app_deployment(s)["spec"]["template"]
        [c] = tpl["spec"]["containers"]
        env = env_of(c)
        declared = {p["containerPort"] for p in c["ports"]}
        for var, port in PORT_ENV[s].items():
            assert env.get(var, {}).get("value") == str(port), f"{s}: {var} is not {port}"
            assert port in declared, f"{s}: containerPort {port} not declared"
        ann = tpl["metadata"].get("annotations") or {}
        assert ann.get("prometheus.io/scrape") == "true", f"{s}: not annotated for scraping"
        assert ann.get("prometheus.io/port") == str(HTTP_PORT[s]), \
            f"{s}: prometheus.io/port {ann.get('prometheus.io/port')}"
        assert ann.get("prometheus.io/path") == "/metrics", f"{s}: prometheus.io/path"
    for svc in b.of("Service", APP_NS):
        labels = pod_labels(b, APP_NS, svc["spec"]["selector"]["app.kubernetes.io/name"])
        assert selector_matches({"matchLabels": svc["spec"]["selector"]}, labels), svc["metadata"]["name"]
        [c] = b.app_deployment(labels["app.kubernetes.io/name"])["spec"]["template"]["spec"]["containers"]
        names = {p.get("name"): p["containerPort"] for p in c["ports"]}
        for p in svc["spec"]["ports"]:
            target = names.get(p.get("targetPort"), p.get("targetPort", p["port"]))
            assert target in names.values(), f'Service {svc["metadata"]["name"]}: targetPort {p.get("targetPort")}'
    gw_env = env_of(b.app_deployment("gateway")["spec"]["template"]["spec"]["containers"][0])
    addr = gw_env["CLICKSTREAM_ANALYTICS_ADDR"]["value"]
    # The gateway resolves the headless Service, so that gRPC's round_robin sees every analytics pod.
    assert re.fullmatch(r"dns:///analytics-headless(\.app-layer(\.svc(\.cluster\.local)?)?)?:50051", addr), addr
    headless = b.get("Service", APP_NS, "analytics-headless")
    assert headless["spec"].get("clusterIP") == "None", "Service analytics-headless is not headless"
    assert headless["spec"]["selector"] == {"app.kubernetes.io/name": "analytics"}, headless["spec"]


@rule("Secret app-secrets holds DATABASE_URL, KAFKA_BROKER, REDIS_ADDR and the API keys; env reads it by secretKeyRef")
def _(b):
    data = b.secret_data(APP_NS, "app-secrets")
    for k in SECRET_KEYS:
        assert data.get(k), f"app-secrets lacks {k}"
    for s in SERVICES:
        [c] = b.app_deployment(s)["spec"]["template"]["spec"]["containers"]
        for name, e in env_of(c).items():
            if name in SECRET_KEYS:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                assert ref and ref["name"] == "app-secrets", f"{s}: {name} not from app-secrets"
                assert ref["key"] in data, f"{s}: {name} references missing key {ref['key']}"
    needs = {"ingestion": {"KAFKA_BROKER"}, "processor": {"DATABASE_URL", "KAFKA_BROKER", "REDIS_ADDR"},
             "analytics": {"DATABASE_URL", "REDIS_ADDR"}}
    for s, keys in needs.items():
        [c] = b.app_deployment(s)["spec"]["template"]["spec"]["containers"]
        missing = keys - set(env_of(c))
        assert not missing, f"{s}: lacks {sorted(missing)}"


@rule("API keys are on: ingestion and the gateway (queries and dead letters) read a non-empty key list from "
      "app-secrets (not optional)")
def _(b):
    data = b.secret_data(APP_NS, "app-secrets")
    for service, key in (("ingestion", "CLICKSTREAM_INGEST_API_KEYS"), ("gateway", "CLICKSTREAM_QUERY_API_KEYS"),
                         ("gateway", "CLICKSTREAM_ADMIN_API_KEYS")):
        [c] = b.app_deployment(service)["spec"]["template"]["spec"]["containers"]
        e = env_of(c).get(key)
        assert e, f"{service}: no {key}, so it would accept requests without a key"
        ref = (e.get("valueFrom") or {}).get("secretKeyRef") or {}
        assert ref.get("name") == "app-secrets" and not ref.get("optional"), f"{service}: {key} not required from app-secrets"
        assert [k for k in data[ref["key"]].split(",") if k.strip()], f"app-secrets {ref['key']} holds no key"
    keys = {name: {k.strip() for k in data[name].split(",") if k.strip()}
            for name in ("CLICKSTREAM_QUERY_API_KEYS", "CLICKSTREAM_ADMIN_API_KEYS")}
    shared = keys["CLICKSTREAM_QUERY_API_KEYS"] & keys["CLICKSTREAM_ADMIN_API_KEYS"]
    assert not shared, "a query key is also an admin key: it could replay dead letters into the event log"


@rule("the Secret's addresses name the data-layer Services and ports; the DB password matches postgres'")
def _(b):
    data = b.secret_data(APP_NS, "app-secrets")
    url = re.fullmatch(r"postgres(?:ql)?://([^:@/]+):([^@/]*)@([^:/]+):(\d+)/(\w+)", data["DATABASE_URL"])
    assert url, "DATABASE_URL is not postgresql://user:password@host:port/db"
    user, password, host, port, db = url.groups()
    targets = {"postgres": (host, int(port))}
    for key, svc in (("KAFKA_BROKER", "redpanda"), ("REDIS_ADDR", "redis")):
        h, p = data[key].split(",")[0].rsplit(":", 1)
        targets[svc] = (h, int(p))
    for svc, (h, p) in targets.items():
        assert h in (f"{svc}.{DATA_NS}.svc.cluster.local", f"{svc}.{DATA_NS}.svc", f"{svc}.{DATA_NS}"), f"{svc}: {h}"
        assert p == DATA_PORTS[svc], f"{svc}: port {p}"
        b.get("Service", DATA_NS, svc)
    pg = b.secret_data(DATA_NS, "postgres-credentials")
    assert (user, password, db) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"]), \
        "DATABASE_URL disagrees with postgres-credentials"


@rule("every app-layer container port is covered by a NetworkPolicy ingress rule")
def _(b):
    n = 0
    for w, spec, c, _ in b.containers():
        if w["metadata"].get("namespace") != APP_NS:
            continue
        labels = w["spec"]["template"]["metadata"]["labels"]
        for p in c.get("ports", []):
            covered = any(port_matches(r.get("ports"), p["containerPort"], p.get("name"))
                          for np in ingress_policies(b, APP_NS, labels) for r in np["spec"].get("ingress") or [])
            assert covered, f"{cname(w, c)}: port {p['containerPort']} has no ingress rule"
            n += 1
    assert n >= 5, f"only {n} ports"


@rule("app-layer ingress: default deny; 8080/8081 from anywhere; analytics 50051 only from the gateway "
      "(dev: +NodePort)")
def _(b):
    assert any(np["spec"].get("podSelector") in ({}, None) and not np["spec"].get("ingress")
               for np in b.of("NetworkPolicy", APP_NS)), "no default-deny ingress policy in app-layer"
    outside = (None, {})
    stranger = ("default", {"app.kubernetes.io/name": "stranger"})
    for s, port in (("ingestion", 8080), ("gateway", 8081)):
        name = container_port(b, APP_NS, s, port)
        for src in (outside, stranger):
            assert ingress_allowed(b, APP_NS, pod_labels(b, APP_NS, s), port, name, *src), f"{s}:{port} from {src}"
    a = pod_labels(b, APP_NS, "analytics")
    grpc = container_port(b, APP_NS, "analytics", ANALYTICS_GRPC_PORT)
    assert ingress_allowed(b, APP_NS, a, 50051, grpc, APP_NS, pod_labels(b, APP_NS, "gateway")), "gateway -> analytics"
    if b.name != "dev":  # dev opens 50051 to everyone for its NodePort (checked by the dev NodePort rule)
        for src in (outside, stranger, (APP_NS, pod_labels(b, APP_NS, "ingestion")),
                    (APP_NS, pod_labels(b, APP_NS, "processor"))):
            assert not ingress_allowed(b, APP_NS, a, 50051, grpc, *src), f"analytics:50051 reachable from {src}"
    # Nothing else in app-layer is open to everyone: the health ports answer only the monitoring namespace.
    for s in ("processor", "analytics"):
        port = HTTP_PORT[s]
        assert not ingress_allowed(b, APP_NS, pod_labels(b, APP_NS, s), port, "http", *stranger), f"{s}:{port} open"
        assert ingress_allowed(b, APP_NS, pod_labels(b, APP_NS, s), port, "http", "monitoring", {}), \
            f"{s}:{port} not scrapeable from monitoring"


@rule("data-layer ingress: default deny; each data port only from the app-layer services (and init Jobs) that use it")
def _(b):
    assert any(np["spec"].get("podSelector") in ({}, None) and not np["spec"].get("ingress")
               for np in b.of("NetworkPolicy", DATA_NS)), "no default-deny ingress policy in data-layer"
    for np in b.of("NetworkPolicy", DATA_NS):
        for r in np["spec"].get("ingress") or []:
            assert r.get("from"), f'{np["metadata"]["name"]}: a rule from anywhere'
            assert r.get("ports"), f'{np["metadata"]["name"]}: a rule for every port'
            assert not any("ipBlock" in p for p in r["from"]), f'{np["metadata"]["name"]}: ipBlock'
    for target, port in DATA_PORTS.items():
        dst = pod_labels(b, DATA_NS, target)
        name = container_port(b, DATA_NS, target, port)
        for s in SERVICES:
            allowed = ingress_allowed(b, DATA_NS, dst, port, name, APP_NS, pod_labels(b, APP_NS, s))
            assert allowed == (s in DATA_CLIENTS[target]), f"{s} -> {target}:{port}: allowed={allowed}"
            for other_port in (22, 8080, 9644):
                assert not ingress_allowed(b, DATA_NS, dst, other_port, None, APP_NS, pod_labels(b, APP_NS, s)), \
                    f"{s} -> {target}:{other_port}"
        for src in ((None, {}), ("default", {}), ("monitoring", {}), (DATA_NS, {"app.kubernetes.io/name": "x"})):
            assert not ingress_allowed(b, DATA_NS, dst, port, name, *src), f"{src} -> {target}:{port}"
    for job, target in INIT_JOB_TARGET.items():
        assert ingress_allowed(b, DATA_NS, pod_labels(b, DATA_NS, target), DATA_PORTS[target], None,
                               DATA_NS, pod_labels(b, DATA_NS, job)), f"{job} cannot reach {target}"


@rule("a Job applies infra/init.sql (the file itself, via ConfigMap) with psql, after waiting for the database")
def _(b):
    job = b.get("Job", DATA_NS, "schema-init")
    spec = job["spec"]["template"]["spec"]
    [c] = spec["containers"]
    script = " ".join(c.get("command", []) + c.get("args", []))
    assert "pg_isready" in script and "psql" in script and "ON_ERROR_STOP=1" in script, script
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounted = [m for m in c["volumeMounts"] if "configMap" in volumes[m["name"]]]
    assert mounted, "no ConfigMap mounted"
    cm_name = volumes[mounted[0]["name"]]["configMap"]["name"]
    cm = b.configmap(DATA_NS, cm_name)
    sql = (Path(ARGS.repo) / "infra" / "init.sql").read_text()
    assert cm["data"].get("init.sql") == sql, "the ConfigMap's init.sql differs from infra/init.sql"
    assert f'{mounted[0]["mountPath"]}/init.sql' in script, "psql does not run the mounted init.sql"
    assert job["spec"].get("activeDeadlineSeconds"), "the wait is unbounded"


@rule("a Job creates topics clicks and clicks.dlq with rpk; partitions come from a ConfigMap")
def _(b):
    job = b.get("Job", DATA_NS, "topics-init")
    [c] = job["spec"]["template"]["spec"]["containers"]
    script = " ".join(c.get("command", []) + c.get("args", []))
    assert "rpk topic create" in script, script
    assert job["spec"].get("activeDeadlineSeconds"), "the wait is unbounded"
    refs = [e["configMapRef"]["name"] for e in c.get("envFrom", []) if "configMapRef" in e]
    assert refs, "no ConfigMap with the topic settings"
    data = b.configmap(DATA_NS, refs[0])["data"]
    assert data["CLICKS_TOPIC"] == "clicks" and data["DLQ_TOPIC"] == "clicks.dlq", data
    assert int(data["CLICKS_PARTITIONS"]) >= 1, data


@rule("dev: NodePorts 30080 (ingestion), 30081 (gateway), 30051 (analytics), open to outside", only="dev")
def _(b):
    for s, node_port in DEV_NODEPORTS.items():
        svc = b.get("Service", APP_NS, s)
        assert svc["spec"].get("type") == "NodePort", f"{s}: type {svc['spec'].get('type')}"
        ports = {p.get("nodePort"): p for p in svc["spec"]["ports"]}
        assert node_port in ports, f"{s}: nodePorts {sorted(k for k in ports if k)}"
        target = ports[node_port].get("targetPort")
        [c] = b.app_deployment(s)["spec"]["template"]["spec"]["containers"]
        number = {p.get("name"): p["containerPort"] for p in c["ports"]}.get(target, target)
        assert ingress_allowed(b, APP_NS, pod_labels(b, APP_NS, s), number, target, None, {}), \
            f"{s}: NodePort {node_port} blocked by NetworkPolicy"


@rule("dev: one replica of every service; clicks has 4 partitions", only="dev")
def _(b):
    for s in SERVICES:
        assert b.app_deployment(s)["spec"].get("replicas", 1) == 1, s
    assert b.configmap(DATA_NS, "topics")["data"]["CLICKS_PARTITIONS"] == "4"


@rule("prod: processor replicas (4) x consumers each (2) <= partitions of clicks (12)", only="prod")
def _(b):
    processor = b.app_deployment("processor")
    replicas = processor["spec"].get("replicas", 1)
    env = {e["name"]: e.get("value") for e in processor["spec"]["template"]["spec"]["containers"][0].get("env", [])}
    consumers = int(env.get("CLICKSTREAM_PROCESSOR_CONSUMERS") or 2)  # the default when unset
    partitions = int(b.configmap(DATA_NS, "topics")["data"]["CLICKS_PARTITIONS"])
    assert replicas > 1, f"processor replicas {replicas}"
    assert replicas * consumers <= partitions, \
        f"processor replicas {replicas} x {consumers} consumers > {partitions} partitions: some would sit idle"


@rule("prod: CPU HorizontalPodAutoscalers for ingestion, gateway, analytics (min >= 3) own their replica count",
      only="prod")
def _(b):
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in b.of("HorizontalPodAutoscaler", APP_NS)}
    for s in PROD_HPA:
        h = hpas.get(s)
        assert h, f"no HPA for {s}"
        assert h["apiVersion"] == "autoscaling/v2" and h["spec"]["scaleTargetRef"]["kind"] == "Deployment", s
        assert h["spec"]["minReplicas"] >= 3 and h["spec"]["maxReplicas"] > h["spec"]["minReplicas"], s
        assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in h["spec"]["metrics"]), s
        d = b.app_deployment(s)
        assert "replicas" not in d["spec"], f"{s}: spec.replicas would fight the HPA on every apply"
        assert d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"], s
    assert "processor" not in hpas, "the processor is bounded by partitions: no CPU HPA"


@rule("prod: a PodDisruptionBudget covers every app Deployment", only="prod")
def _(b):
    pdbs = b.of("PodDisruptionBudget", APP_NS)
    for s in SERVICES:
        labels = pod_labels(b, APP_NS, s)
        covering = [p for p in pdbs if selector_matches(p["spec"]["selector"], labels)]
        assert len(covering) == 1, f"{s}: {len(covering)} PDBs"
        spec = covering[0]["spec"]
        assert spec.get("maxUnavailable") == 1 or spec.get("minAvailable"), f"{s}: {spec}"


@rule("prod: larger resources than dev; Redpanda without dev-container mode", only="prod")
def _(b):
    for s in SERVICES:
        req = b.app_deployment(s)["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
        assert req in ("500m", "1", "2") or req.endswith("000m"), f"{s}: cpu request {req}"
    [c] = b.get("StatefulSet", DATA_NS, "redpanda")["spec"]["template"]["spec"]["containers"]
    assert not any("dev-container" in a for a in c.get("args", [])), "redpanda in dev-container mode"


# --- rules on the repository -------------------------------------------------------------------------------

REPO_RULES = []


def repo_rule(text):
    def register(fn):
        REPO_RULES.append((text, fn))
        return fn
    return register


@repo_rule("prod secrets come from git-ignored files; the committed examples hold only placeholders")
def _(repo):
    secrets = repo / "deploy/k8s/overlays/prod/secrets"
    examples = sorted(secrets.glob("*.env.example"))
    assert len(examples) == 2, [e.name for e in examples]
    kustomization = (repo / "deploy/k8s/overlays/prod/kustomization.yaml").read_text()
    for ex in examples:
        real = ex.with_suffix("")  # app-secrets.env
        assert f"secrets/{real.name}" in kustomization, f"prod does not read secrets/{real.name}"
        ignored = subprocess.run(["git", "-C", str(repo), "check-ignore", "-q", str(real)])
        assert ignored.returncode == 0, f"{real} is not git-ignored"
        values = [line.split("=", 1)[1] for line in ex.read_text().splitlines()
                  if "=" in line and not line.startswith("#")]
        assert any("CHANGE_ME" in v for v in values), f"{ex.name}: no placeholder"
        assert not any("dev-only" in v for v in values), f"{ex.name}: carries development values"


@repo_rule("Dockerfile: bookworm builder, bookworm-slim runtime, user 10001, ENTRYPOINT clickstream, CMD all, ports")
def _(repo):
    text = (repo / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert froms[0] == "debian:bookworm" and froms[-1] == "debian:bookworm-slim", froms
    assert re.search(r"-DBUILD_TESTING=OFF", text) and re.search(r"--target clickstream", text)
    assert re.search(r"^USER 10001", text, re.M), "USER 10001"
    assert '["/usr/local/bin/clickstream"]' in text and re.search(r'^CMD \["all"\]', text, re.M)
    exposed = set(re.search(r"^EXPOSE (.+)$", text, re.M).group(1).split())
    assert exposed == {"8080", "8081", "8082", "8083", "50051"}, exposed
    runtime = text[text.rindex("FROM debian:bookworm-slim"):]
    assert "-dev" not in runtime, "a -dev package in the runtime stage"
    ignore = (repo / ".dockerignore").read_text().split()
    assert {".git", ".state"} <= set(ignore) and any(i.startswith("build") for i in ignore), ignore


def metric_names(expr):
    names = set(re.findall(r"\b(clickstream_[a-z0-9_]+)", expr))
    if re.search(r"\bup\b", expr):
        names.add("up")
    return names


@repo_rule("monitoring: prometheus.yml discovers pods by prometheus.io annotations and has the local static targets")
def _(repo):
    cfg = yaml.safe_load((repo / "deploy/monitoring/prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    sd = [j for j in jobs.values() if any(s.get("role") == "pod" for s in j.get("kubernetes_sd_configs", []))]
    assert sd, "no kubernetes_sd pod discovery"
    relabel = json.dumps(sd[0]["relabel_configs"])
    for ann in ("prometheus_io_scrape", "prometheus_io_port", "prometheus_io_path"):
        assert f"__meta_kubernetes_pod_annotation_{ann}" in relabel, ann
    static = {t for j in jobs.values() for sc in j.get("static_configs", []) for t in sc["targets"]}
    assert {f"127.0.0.1:{p}" for p in (8080, 8081, 8082, 8083)} <= static, static
    assert "alerts.yml" in cfg.get("rule_files", []), "alerts.yml not loaded"


@repo_rule("monitoring: alerts.yml rules for lag, error rate, DLQ growth and a service down, with known metrics")
def _(repo):
    doc = yaml.safe_load((repo / "deploy/monitoring/alerts.yml").read_text())
    rules = [r for g in doc["groups"] for r in g["rules"]]
    for r in rules:
        assert set(r) >= {"alert", "expr", "labels", "annotations"}, r.get("alert")
        assert r["labels"].get("severity") in ("warning", "critical"), r["alert"]
        assert r["annotations"].get("summary"), r["alert"]
        unknown = metric_names(r["expr"]) - KNOWN_METRICS - {"up"}
        assert not unknown, f'{r["alert"]}: unknown metrics {sorted(unknown)}'
    exprs = {r["alert"]: (r["expr"], r.get("for")) for r in rules}
    for topic, metric in ALERT_TOPICS.items():
        assert any(metric in metric_names(e) for e, _ in exprs.values()), f"no alert on {topic}"
    lag = [f for e, f in exprs.values() if "clickstream_consumer_lag_records" in e]
    errors = [(e, f) for e, f in exprs.values() if "clickstream_http_requests_total" in e]
    assert "5m" in lag, "lag alert not for 5m"
    assert any("0.01" in e and f == "5m" for e, f in errors), "no error-rate > 1% for 5m"


@repo_rule("monitoring: grafana-dashboard.json is a dashboard with the required panels, over known metrics")
def _(repo):
    dash = json.loads((repo / "deploy/monitoring/grafana-dashboard.json").read_text())
    assert dash["title"] and dash["uid"] and isinstance(dash["schemaVersion"], int)
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for p in panels:
        assert p["targets"] and all(t["expr"] and t["refId"] for t in p["targets"]), p["title"]
        assert set(p["gridPos"]) == {"h", "w", "x", "y"} and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24, p["title"]
        for t in p["targets"]:
            unknown = metric_names(t["expr"]) - KNOWN_METRICS
            assert not unknown, f'{p["title"]}: unknown metrics {sorted(unknown)}'
    by_title = {p["title"].lower(): " ".join(t["expr"] for t in p["targets"]) for p in panels}
    for topic, metrics in DASHBOARD_TOPICS.items():
        matches = [e for title, e in by_title.items() if topic in title]
        assert matches, f"no panel titled '{topic}'"
        assert all(m in matches[0] for m in metrics), f"'{topic}' does not use {metrics}"
    latency = next(e for t, e in by_title.items() if "query latency" in t)
    assert "histogram_quantile(0.5" in latency and "histogram_quantile(0.99" in latency, "query latency p50/p99"


# --- runner -------------------------------------------------------------------------------------------------

def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="repository root")
    parser.add_argument("--overlay", action="append", default=[], metavar="NAME=FILE",
                        help="a rendered overlay (kustomize build output)")
    ARGS = parser.parse_args()
    repo = Path(ARGS.repo)

    passed = failed = 0

    def report(ok, label, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"PASS {label}")
        else:
            failed += 1
            print(f"FAIL {label}: {detail}")

    overlays = []
    for spec in ARGS.overlay:
        name, path = spec.split("=", 1)
        overlays.append(Bundle(name, list(yaml.safe_load_all(Path(path).read_text()))))
    if not {"dev", "prod"} <= {b.name for b in overlays}:
        report(False, "overlays", "both dev and prod must be given")

    for b in overlays:
        for text, only, fn in RULES:
            if only and only != b.name:
                continue
            try:
                fn(b)
                report(True, f"[{b.name}] {text}")
            except (AssertionError, KeyError, IndexError, TypeError, ValueError) as e:
                report(False, f"[{b.name}] {text}", f"{type(e).__name__}: {e}")
    for text, fn in REPO_RULES:
        try:
            fn(repo)
            report(True, f"[repo] {text}")
        except (AssertionError, KeyError, IndexError, TypeError, ValueError, OSError, StopIteration) as e:
            report(False, f"[repo] {text}", f"{type(e).__name__}: {e}")

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


ARGS = None

if __name__ == "__main__":
    sys.exit(main())
