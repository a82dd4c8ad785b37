#!/usr/bin/env python3
"""Checks deploy/k8s without a Kubernetes cluster: every file parses as YAML, kustomization.yaml
lists files that exist, and the objects agree with each other the way the API server and the
controllers would need them to (selectors, Service names, ports, Secret and ConfigMap references,
environment variables referenced before they are defined). It does not validate against the API
schemas: no kubectl or kustomize here.

Usage: deploy/tests/check-manifests.py [DIR]   (default: deploy/k8s beside this script)
Prints one line per problem and exits 1 when there is any. Needs PyYAML (Debian: python3-yaml).
"""

import os
import re
import sys

import yaml

problems = []


def problem(message):
    problems.append(message)
    print(f"problem: {message}")


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


def check_workload(file, sts, services, secrets, configmaps):
    name = sts["metadata"]["name"]
    spec = sts["spec"]
    selector = spec["selector"]["matchLabels"]
    labels = spec["template"]["metadata"]["labels"]
    if any(labels.get(k) != v for k, v in selector.items()):
        problem(f"{file}: StatefulSet {name}: selector {selector} does not match template labels {labels}")
    service = services.get(spec.get("serviceName"))
    if service is None:
        problem(f"{file}: StatefulSet {name}: serviceName {spec.get('serviceName')} is not a Service here")
    else:
        if service["spec"].get("clusterIP") != "None":
            problem(f"{file}: Service {service['metadata']['name']} must be headless for per-pod DNS names")
        if service["spec"].get("selector") != selector:
            problem(f"{file}: Service {service['metadata']['name']} selects {service['spec'].get('selector')}, the StatefulSet's pods are {selector}")
    pod = spec["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
    for volume in volumes.values():
        if "configMap" in volume and volume["configMap"]["name"] not in configmaps:
            problem(f"{file}: volume {volume['name']} uses ConfigMap {volume['configMap']['name']}, which nothing defines")
        if "secret" in volume and volume["secret"]["secretName"] not in secrets:
            problem(f"{file}: volume {volume['name']} uses Secret {volume['secret']['secretName']}, which nothing defines")
    for container in pod["containers"]:
        where = f"{file}: container {container['name']}"
        for mount in container.get("volumeMounts", []):
            if mount["name"] not in volumes and mount["name"] not in claims:
                problem(f"{where}: mounts {mount['name']}, which is neither a volume nor a claim")
        port_names = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        for probe_name in ("readinessProbe", "livenessProbe", "startupProbe"):
            probe = container.get(probe_name)
            if probe and "tcpSocket" in probe:
                port = probe["tcpSocket"]["port"]
                if isinstance(port, str) and port not in port_names:
                    problem(f"{where}: {probe_name} uses port {port}, which the container does not name")
        if service is not None:
            for port in service["spec"].get("ports", []):
                target = port.get("targetPort", port["port"])
                if isinstance(target, str) and target not in port_names:
                    problem(f"{where}: Service targetPort {target} is not a port of the container")
        defined = set()
        for env in container.get("env", []):
            for reference in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", env.get("value", "")):
                if reference not in defined:
                    problem(f"{where}: {env['name']} uses $({reference}) before it is defined (Kubernetes would leave it as text)")
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                secret = secrets.get(ref["name"])
                if secret is None:
                    problem(f"{where}: {env['name']} reads Secret {ref['name']}, which nothing defines")
                elif ref["key"] not in {**secret.get("data", {}), **secret.get("stringData", {})}:
                    problem(f"{where}: {env['name']} reads key {ref['key']}, which Secret {ref['name']} lacks")
            defined.add(env["name"])


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8s")
    _, objects, generated = load(directory)
    by_kind = {}
    for file, obj in objects:
        for key in ("apiVersion", "kind", "metadata"):
            if key not in obj:
                problem(f"{file}: an object without {key}")
        if "namespace" in obj.get("metadata", {}):
            problem(f"{file}: {obj['kind']} {obj['metadata']['name']} names a namespace; the manifests must not")
        by_kind.setdefault(obj.get("kind"), {})[obj["metadata"]["name"]] = (file, obj)
    services = {n: o for n, (_, o) in by_kind.get("Service", {}).items()}
    secrets = {n: o for n, (_, o) in by_kind.get("Secret", {}).items()}
    configmaps = set(by_kind.get("ConfigMap", {})) | generated
    for name, (file, sts) in by_kind.get("StatefulSet", {}).items():
        check_workload(file, sts, services, secrets, configmaps)
    kinds = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_kind.items()))
    print(f"checked {len(objects)} objects ({kinds}): {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
