#!/usr/bin/env python3
"""Checks deploy/k8s without a Kubernetes cluster: every file parses as YAML, kustomization.yaml
lists files that exist, and the objects agree with each other the way the API server, the
controllers and RnnCluster's cluster bootstrap need them to:

- selectors, Service names, ports, Secret/ConfigMap/PVC references, environment variables
  referenced before they are defined (Kubernetes would leave them as text);
- namespaces: kustomization.yaml sets one, every namespaced object names that one, and the
  RoleBinding's ServiceAccount subject too (it is never taken from the binding);
- the bootstrap (cluster.discovery.method = kubernetes in k8s/cluster.hocon): no seeds, the pods
  carry the labels of cluster.discovery.pod-label-selector, run as a ServiceAccount whose Role may
  get/list/watch pods, name a container port "management" equal to cluster.management.port, and
  advertise their pod IP as the management address; StatefulSets start their pods in parallel;
- health: readiness probes GET /ready and liveness probes GET /alive on the management port;
- failover: at least 2 coordinator-eligible pods, all mounting one ReadWriteMany claim that holds
  the run directory (no per-pod claim for it);
- shutdown: an exec-form command (no shell to swallow SIGTERM) and a terminationGracePeriodSeconds
  that covers the longest graceful stop (see GRACE_* below, and the comments in the manifests).

It does not validate against the API schemas: no kubectl or kustomize here.

Usage: deploy/tests/check-manifests.py [DIR]   (default: deploy/k8s beside this script)
Prints one line per problem and exits 1 when there is any. Needs PyYAML (Debian: python3-yaml).
"""

import os
import re
import sys

import yaml

problems = []

# The longest graceful stop, in seconds, each part at its configured limit (the manifests' comments
# say the same): CoordinatedShutdown with every phase at Akka's default timeout (9 phases of 5 s,
# 3 of 10 s), the leave the trainer and the worker wait for, and for a coordinator the step in
# progress (parallel.step-deadline) plus writing a checkpoint.
COORDINATED_SHUTDOWN_S = 9 * 5 + 3 * 10
LEAVE_S = 10
STEP_DEADLINE_S = 60
CHECKPOINT_S = 30
GRACE_COORDINATOR_S = STEP_DEADLINE_S + CHECKPOINT_S + LEAVE_S + COORDINATED_SHUTDOWN_S
GRACE_WORKER_S = LEAVE_S + COORDINATED_SHUTDOWN_S

SHELLS = {"sh", "bash", "dash", "ash", "/bin/sh", "/bin/bash", "/usr/bin/env"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}


def problem(message):
    problems.append(message)
    print(f"problem: {message}")


def read_hocon(path):
    """The simple HOCON of k8s/cluster.hocon: one `key = value` per line, `name {` ... `}` blocks.
    Returns {"cluster.port": "2552", ...} with quotes removed."""
    values, stack = {}, []
    with open(path) as f:
        for raw in f:
            line = re.sub(r"\s+(#|//).*$", "", raw.strip())
            if not line or line.startswith(("#", "//")):
                continue
            if line.endswith("{"):
                stack.append(line[:-1].strip())
            elif line == "}":
                stack.pop()
            elif "=" in line:
                key, _, value = line.partition("=")
                values[".".join(stack + [key.strip()])] = value.strip().strip('"')
    return values


def load(directory):
    with open(os.path.join(directory, "kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    objects = []
    for name in kustomization.get("resources", []):
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            problem(f"kustomization.yaml lists {name}, which does not exist")
            continue
        with open(path) as f:
            for document in yaml.safe_load_all(f):
                if document:
                    objects.append((name, document))
    generated = set()
    for generator in kustomization.get("configMapGenerator", []):
        generated.add(generator["name"])
        for file in generator.get("files", []):
            if not os.path.isfile(os.path.join(directory, file.split("=")[-1])):
                problem(f"configMapGenerator {generator['name']} names {file}, which does not exist")
    for name in sorted(os.listdir(directory)):
        if name.endswith((".yaml", ".yml")) and name != "kustomization.yaml" and name not in kustomization.get("resources", []):
            problem(f"{name} is not listed in kustomization.yaml")
    return kustomization, objects, generated


def probe_uses(where, container, probe_name, path, port_name):
    probe = container.get(probe_name)
    get = (probe or {}).get("httpGet")
    if not get or get.get("path") != path or get.get("port") != port_name:
        problem(f"{where}: {probe_name} must GET {path} on port '{port_name}' (the management endpoint), found {probe}")


def check_workload(file, sts, ctx):
    name = sts["metadata"]["name"]
    spec = sts["spec"]
    selector = spec["selector"]["matchLabels"]
    labels = spec["template"]["metadata"]["labels"]
    if any(labels.get(k) != v for k, v in selector.items()):
        problem(f"{file}: StatefulSet {name}: selector {selector} does not match template labels {labels}")
    service = ctx["services"].get(spec.get("serviceName"))
    if service is None:
        problem(f"{file}: StatefulSet {name}: serviceName {spec.get('serviceName')} is not a Service here")
    else:
        if service["spec"].get("clusterIP") != "None":
            problem(f"{file}: Service {service['metadata']['name']} must be headless for per-pod DNS names")
        if any(labels.get(k) != v for k, v in service["spec"].get("selector", {}).items()):
            problem(f"{file}: Service {service['metadata']['name']} selects {service['spec'].get('selector')}, which does not match the pods of {name} ({labels})")
        if not service["spec"].get("publishNotReadyAddresses"):
            problem(f"{file}: Service {service['metadata']['name']}: publishNotReadyAddresses must be true (pods are ready only after joining, which needs the others' names)")
    if ctx["bootstrap"] and spec.get("podManagementPolicy") != "Parallel":
        problem(f"{file}: StatefulSet {name}: podManagementPolicy must be Parallel (the bootstrap needs its contact points up together)")
    selector_labels = ctx["pod_selector"]
    if ctx["bootstrap"] and any(labels.get(k) != v for k, v in selector_labels.items()):
        problem(f"{file}: StatefulSet {name}: pods labelled {labels} are not found by cluster.discovery.pod-label-selector ({selector_labels})")

    pod = spec["template"]["spec"]
    account = pod.get("serviceAccountName")
    if ctx["bootstrap"]:
        if account not in ctx["pod_readers"]:
            problem(f"{file}: StatefulSet {name}: serviceAccountName {account} is not a ServiceAccount bound here to a Role that may get, list and watch pods")
        if pod.get("automountServiceAccountToken") is False:
            problem(f"{file}: StatefulSet {name}: the discovery needs the service account token mounted")
    component = labels.get("app.kubernetes.io/component")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    least = GRACE_COORDINATOR_S if component == "coordinator" else GRACE_WORKER_S
    if grace < least:
        problem(f"{file}: StatefulSet {name}: terminationGracePeriodSeconds {grace} is below the longest graceful stop, {least} s")

    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
    for volume in volumes.values():
        if "configMap" in volume and volume["configMap"]["name"] not in ctx["configmaps"]:
            problem(f"{file}: volume {volume['name']} uses ConfigMap {volume['configMap']['name']}, which nothing defines")
        if "secret" in volume and volume["secret"]["secretName"] not in ctx["secrets"]:
            problem(f"{file}: volume {volume['name']} uses Secret {volume['secret']['secretName']}, which nothing defines")
        if "persistentVolumeClaim" in volume and volume["persistentVolumeClaim"]["claimName"] not in ctx["pvcs"]:
            problem(f"{file}: volume {volume['name']} uses claim {volume['persistentVolumeClaim']['claimName']}, which nothing defines")

    if component == "coordinator":
        if spec.get("replicas", 1) < 2:
            problem(f"{file}: StatefulSet {name}: {spec.get('replicas', 1)} coordinator-eligible pod(s); failover needs at least 2")
    for container in pod["containers"]:
        where = f"{file}: container {container['name']}"
        for key in ("command", "args"):
            value = container.get(key)
            if value is not None and not isinstance(value, list):
                problem(f"{where}: {key} must be a list (exec form)")
        command = container.get("command") or []
        if command and (command[0] in SHELLS or "-c" in command):
            problem(f"{where}: command {command} runs through a shell, which keeps SIGTERM from the .NET process")
        mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
        for mount in mounts.values():
            if mount["name"] not in volumes and mount["name"] not in claims:
                problem(f"{where}: mounts {mount['name']}, which is neither a volume nor a claim")
        port_names = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        for probe_name in ("readinessProbe", "livenessProbe", "startupProbe"):
            probe = container.get(probe_name) or {}
            for kind in ("tcpSocket", "httpGet"):
                port = probe.get(kind, {}).get("port")
                if isinstance(port, str) and port not in port_names:
                    problem(f"{where}: {probe_name} uses port {port}, which the container does not name")
        probe_uses(where, container, "readinessProbe", "/ready", "management")
        probe_uses(where, container, "livenessProbe", "/alive", "management")
        if ctx["management_port"] and port_names.get("management") != ctx["management_port"]:
            problem(f"{where}: needs a container port named 'management' = cluster.management.port ({ctx['management_port']}), found {port_names.get('management')}")
        if ctx["cluster_port"] and port_names.get("cluster") != ctx["cluster_port"]:
            problem(f"{where}: the container port 'cluster' must be cluster.port ({ctx['cluster_port']}), found {port_names.get('cluster')}")
        if service is not None:
            for port in service["spec"].get("ports", []):
                target = port.get("targetPort", port["port"])
                if isinstance(target, str) and target not in port_names:
                    problem(f"{where}: Service targetPort {target} is not a port of the container")
        defined = {}
        for env in container.get("env", []):
            for reference in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", env.get("value", "")):
                if reference not in defined:
                    problem(f"{where}: {env['name']} uses $({reference}) before it is defined (Kubernetes would leave it as text)")
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                secret = ctx["secrets"].get(ref["name"])
                if secret is None:
                    problem(f"{where}: {env['name']} reads Secret {ref['name']}, which nothing defines")
                elif ref["key"] not in {**secret.get("data", {}), **secret.get("stringData", {})}:
                    problem(f"{where}: {env['name']} reads key {ref['key']}, which Secret {ref['name']} lacks")
            defined[env["name"]] = env
        if ctx["bootstrap"]:
            if "RNNCLUSTER_SEEDS" in defined:
                problem(f"{where}: RNNCLUSTER_SEEDS with cluster.discovery.method = kubernetes (the node refuses seeds with a bootstrap)")
            pod_ip = [n for n, e in defined.items() if e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP"]
            sets = defined.get("RNNCLUSTER_SET", {}).get("value", "")
            if not any(f'cluster.management.advertised-host="$({n})"' in sets for n in pod_ip):
                problem(f"{where}: RNNCLUSTER_SET must set cluster.management.advertised-host to the pod's IP (status.podIP): the discovery reports pods by IP")
        if component == "coordinator":
            run_dir = defined.get("RNNCLUSTER_RUN_DIR", {}).get("value", "/var/lib/rnncluster/run")
            shared = [m for m in mounts.values()
                      if run_dir.startswith(m["mountPath"].rstrip("/") + "/") and m["name"] in volumes and "persistentVolumeClaim" in volumes[m["name"]]]
            if not shared:
                problem(f"{where}: the run directory {run_dir} must be on a claim every coordinator-eligible pod mounts (not a per-pod volumeClaimTemplate)")
            for mount in shared:
                claim = ctx["pvcs"].get(volumes[mount["name"]]["persistentVolumeClaim"]["claimName"])
                if claim is not None and "ReadWriteMany" not in claim["spec"].get("accessModes", []):
                    problem(f"{where}: claim {claim['metadata']['name']} holds the shared run directory but is not ReadWriteMany")


def check_namespaces(kustomization, objects, by_kind):
    namespace = kustomization.get("namespace")
    if not namespace:
        problem("kustomization.yaml sets no namespace")
        return
    if namespace not in by_kind.get("Namespace", {}):
        problem(f"no Namespace {namespace} among the resources")
    for file, obj in objects:
        if obj.get("kind") in CLUSTER_SCOPED:
            continue
        named = obj.get("metadata", {}).get("namespace")
        if named != namespace:
            problem(f"{file}: {obj['kind']} {obj['metadata']['name']} names namespace {named}, not {namespace} (kustomization.yaml)")
    for name, (file, binding) in by_kind.get("RoleBinding", {}).items():
        for subject in binding.get("subjects", []):
            if subject.get("kind") == "ServiceAccount" and subject.get("namespace") != namespace:
                problem(f"{file}: RoleBinding {name}: subject {subject.get('name')} names namespace {subject.get('namespace')}, not {namespace}")


def pod_readers(by_kind):
    """ServiceAccounts bound (in this namespace) to a Role that may get, list and watch pods."""
    roles = set()
    for name, (_, role) in by_kind.get("Role", {}).items():
        for rule in role.get("rules", []):
            if "" in rule.get("apiGroups", []) and "pods" in rule.get("resources", []) and {"get", "list", "watch"} <= set(rule.get("verbs", [])):
                roles.add(name)
    accounts = set(by_kind.get("ServiceAccount", {}))
    readers = set()
    for name, (file, binding) in by_kind.get("RoleBinding", {}).items():
        ref = binding.get("roleRef", {})
        if ref.get("kind") == "Role" and ref.get("name") not in by_kind.get("Role", {}):
            problem(f"{file}: RoleBinding {name} refers to Role {ref.get('name')}, which nothing defines")
        if ref.get("kind") != "Role" or ref.get("name") not in roles:
            continue
        for subject in binding.get("subjects", []):
            if subject.get("kind") == "ServiceAccount" and subject.get("name") in accounts:
                readers.add(subject["name"])
    return readers


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8s")
    kustomization, objects, generated = load(directory)
    by_kind = {}
    for file, obj in objects:
        for key in ("apiVersion", "kind", "metadata"):
            if key not in obj:
                problem(f"{file}: an object without {key}")
        by_kind.setdefault(obj.get("kind"), {})[obj["metadata"]["name"]] = (file, obj)
    check_namespaces(kustomization, objects, by_kind)

    hocon_path = os.path.join(directory, "cluster.hocon")
    settings = read_hocon(hocon_path) if os.path.isfile(hocon_path) else {}
    bootstrap = settings.get("cluster.discovery.method", "seeds") == "kubernetes"
    if settings.get("cluster.discovery.method", "seeds") not in ("seeds", "kubernetes"):
        problem(f"cluster.hocon: cluster.discovery.method = {settings['cluster.discovery.method']} does not suit Kubernetes (kubernetes, or seeds)")
    if bootstrap and settings.get("cluster.seeds", "[]").strip("[] ") != "":
        problem("cluster.hocon: cluster.seeds must be empty with cluster.discovery.method = kubernetes")
    selector_text = settings.get("cluster.discovery.pod-label-selector", "app.kubernetes.io/name={0}")
    selector_text = selector_text.replace("{0}", settings.get("cluster.discovery.service-name", "rnncluster"))
    pod_selector = dict(part.split("=", 1) for part in selector_text.split(",") if "=" in part)
    management_port = int(settings.get("cluster.management.port", "0"))
    if bootstrap and management_port == 0:
        problem("cluster.hocon: cluster.management.port must be set with cluster.discovery.method = kubernetes")

    ctx = {
        "services": {n: o for n, (_, o) in by_kind.get("Service", {}).items()},
        "secrets": {n: o for n, (_, o) in by_kind.get("Secret", {}).items()},
        "pvcs": {n: o for n, (_, o) in by_kind.get("PersistentVolumeClaim", {}).items()},
        "configmaps": set(by_kind.get("ConfigMap", {})) | generated,
        "bootstrap": bootstrap,
        "pod_selector": pod_selector,
        "pod_readers": pod_readers(by_kind),
        "management_port": management_port,
        "cluster_port": int(settings.get("cluster.port", "2552")),
    }
    for name, (file, sts) in by_kind.get("StatefulSet", {}).items():
        check_workload(file, sts, ctx)
    if not any(sts["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == "coordinator"
               for _, sts in by_kind.get("StatefulSet", {}).values()):
        problem("no StatefulSet of coordinator-eligible pods (app.kubernetes.io/component: coordinator)")
    kinds = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_kind.items()))
    print(f"checked {len(objects)} objects ({kinds}): {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
