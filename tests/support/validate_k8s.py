"""Renders a Kustomize directory and validates every manifest against the
Kubernetes schema of a release (kubernetes-validate, strict: unknown fields
are errors).

usage: validate_k8s.py KUSTOMIZATION_DIR KUBERNETES_VERSION

Renders what this project's kustomizations use, as Kustomize does:
`resources` (files and other kustomization directories), `namespace`,
`labels` (metadata only), `images` and `patches` with a `target` and a
JSON 6902 patch file. Any other key is an error, so that a manifest using
more is not silently half-checked. Prints the rendered manifests as JSON.
"""

import json
import os
import sys

import jsonpatch
import kubernetes_validate
import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}


def render(directory):
    with open(os.path.join(directory, "kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        sys.exit(f"{directory}: kustomization keys this check does not render: {sorted(unknown)}")
    docs = []
    for resource in kustomization.get("resources", []):
        path = os.path.normpath(os.path.join(directory, resource))
        if os.path.isdir(path):
            docs.extend(render(path))
        else:
            with open(path) as f:
                docs.extend(d for d in yaml.safe_load_all(f) if d)
    for label in kustomization.get("labels", []):
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    namespace = kustomization.get("namespace")
    if namespace:
        for doc in docs:
            doc["metadata"]["namespace"] = namespace
    for image in kustomization.get("images", []):
        for doc in docs:
            for container in containers(doc):
                name, _, _ = container["image"].partition(":")
                if name == image["name"]:
                    new = image.get("newName", name)
                    tag = image.get("newTag")
                    container["image"] = f"{new}:{tag}" if tag else new
    for patch in kustomization.get("patches", []):
        with open(os.path.join(directory, patch["path"])) as f:
            operations = yaml.safe_load(f)
        target = patch["target"]
        matched = [d for d in docs if matches(d, target)]
        if not matched:
            sys.exit(f"{directory}: patch {patch['path']} matches no resource")
        for doc in matched:
            patched = jsonpatch.apply_patch(doc, operations)
            docs[docs.index(doc)] = patched
    return docs


def matches(doc, target):
    group, _, version = doc["apiVersion"].rpartition("/")
    return (
        doc["kind"] == target.get("kind", doc["kind"])
        and doc["metadata"]["name"] == target.get("name", doc["metadata"]["name"])
        and group == target.get("group", group)
        and version == target.get("version", version)
    )


def containers(doc):
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod = spec.get("template", {}).get("spec", {})
    return pod.get("containers", []) + pod.get("initContainers", [])


def main():
    directory, version = sys.argv[1], sys.argv[2]
    docs = render(directory)
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            sys.exit(f"{doc['kind']} {doc['metadata']['name']}: {e.message} at {list(e.path)}")
    json.dump(docs, sys.stdout)


main()
