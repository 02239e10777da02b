"""The Kubernetes manifests in deploy/kubernetes, validated offline against the Kubernetes JSON schemas
(kubernetes-validate ships them) and checked for what running Invoicer needs."""

from __future__ import annotations

import json
import re
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support import REPO

MANIFESTS = REPO / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30.0"
CUSTOM_KINDS = {"ScaledObject", "TriggerAuthentication", "Kustomization"}  # CRDs: checked by hand below


def load() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


DOCUMENTS = load()


def named(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in DOCUMENTS if doc["kind"] == kind}


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if d["kind"] not in CUSTOM_KINDS],
                         ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_each_manifest_is_valid_against_the_schema(document):
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_kustomization_names_every_manifest_but_the_example_secret():
    [kustomization] = [d for d in DOCUMENTS if d["kind"] == "Kustomization"]
    files = {path.name for path in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert set(kustomization["resources"]) == files


def test_deployments_have_probes_resources_a_budget_and_secrets_from_a_secret():
    config = named("ConfigMap")["invoicer-config"]["data"]
    grace = int(config["SHUTDOWN_GRACE_SECONDS"])
    budgets = {doc["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for doc in named("PodDisruptionBudget").values()}
    deployments = named("Deployment")
    assert set(deployments) == {"invoicer-api", "invoicer-realtime", "invoicer-watcher"}
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] == grace + 10, name
        [container] = pod["containers"]
        assert container["livenessProbe"] and container["readinessProbe"], name
        assert container["resources"]["limits"]["memory"], name
        sources = [next(iter(source)) for source in container["envFrom"]]
        assert sources == ["configMapRef", "secretRef"], name
        assert "env" not in container  # no secret value written into a manifest
        assert name in budgets, name
    watcher = deployments["invoicer-watcher"]["spec"]["template"]["spec"]["containers"][0]
    assert watcher["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert watcher["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert config["ALLOW_SIGNUP"] == "false" and config["MIGRATE_ON_START"] == "false"


def test_migrate_job_and_queue_based_scaling_of_the_watchers():
    job = named("Job")["invoicer-migrate"]["spec"]["template"]["spec"]["containers"][0]
    assert job["command"] == ["invoicer", "migrate"]
    scaled = named("ScaledObject")["invoicer-watcher"]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == "invoicer-watcher"
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "mongodb" and '"pending"' in trigger["metadata"]["query"]
    assert trigger["authenticationRef"]["name"] in named("TriggerAuthentication")


def test_the_grafana_dashboard_shows_every_metric_the_services_export():
    dashboard = json.loads((REPO / "deploy" / "grafana" / "invoicer-dashboard.json").read_text())
    used = {name for panel in dashboard["panels"] for target in panel["targets"]
            for name in re.findall(r"invoicer_[a-z_]+", target["expr"])}
    exported = ("invoicer_queue_invoices", "invoicer_queue_oldest_pending_seconds", "invoicer_watcher_claims_total",
                "invoicer_watcher_extract_seconds_bucket", "invoicer_watcher_failures_total",
                "invoicer_upload_to_final_seconds_bucket", "invoicer_watcher_stream_lag_seconds",
                "invoicer_watcher_stream_restarts_total", "invoicer_watcher_worker_events_total",
                "invoicer_http_request_seconds_bucket", "invoicer_live_connections")
    assert set(exported) <= used
