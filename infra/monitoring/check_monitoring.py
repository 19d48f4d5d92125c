#!/usr/bin/env python3
"""Cross-checks the alert rules, their tests, the runbooks and the Grafana dashboards against signerd's metrics.

Usage: check_monitoring.py REPO_ROOT. Prints one line per finding and exits 1 if there is any.
promtool checks each file on its own (infra/check.sh runs it); this script checks what no single
tool sees: that every metric an alert or a panel names is one signerd exports (the names registered
in signer/signerd/src/metrics.cc), that every alert has a firing test case and a runbook entry
whose heading exists, and that every dashboard parses and is provisioned.
"""

import json
import pathlib
import re
import sys

import yaml

# Series Prometheus itself makes for every scrape target.
PROMETHEUS_SERIES = {"up"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def exported_metrics(metrics_cc: pathlib.Path) -> set[str]:
    """The names signerd registers, with each histogram's derived series."""
    text = metrics_cc.read_text()
    names = set()
    for kind, name in re.findall(r'Add(Counter|Gauge|Histogram)\(\s*"([a-z_:][a-z0-9_:]*)"', text):
        names.add(name)
        if kind == "Histogram":
            names.update(name + suffix for suffix in HISTOGRAM_SUFFIXES)
    return names


def referenced_metrics(expr: str) -> set[str]:
    """Metric names in a PromQL expression: the signer_* identifiers and the Prometheus series.

    Label names and values are removed first, so `instance=~"$instance"` or a label value that
    happens to look like a metric name is not counted.
    """
    without_matchers = re.sub(r"\{[^}]*\}", "{}", expr)
    without_strings = re.sub(r'"[^"]*"', '""', without_matchers)
    identifiers = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_strings))
    return {name for name in identifiers if name.startswith("signer_") or name in PROMETHEUS_SERIES}


def runbook_anchors(runbooks: pathlib.Path) -> set[str]:
    """GitHub-style anchors of the runbook's headings."""
    anchors = set()
    for line in runbooks.read_text().splitlines():
        match = re.match(r"#{2,4}\s+(.*)", line)
        if match:
            anchor = re.sub(r"[^a-z0-9 _-]", "", match.group(1).strip().lower()).replace(" ", "-")
            anchors.add(anchor)
    return anchors


def main() -> int:
    repo = pathlib.Path(sys.argv[1])
    monitoring = repo / "infra" / "monitoring"
    findings = []
    known = exported_metrics(repo / "signer" / "signerd" / "src" / "metrics.cc")
    if len(known) < 10:
        findings.append(f"metrics.cc: found only {len(known)} metric names; has the registration changed?")
    known |= PROMETHEUS_SERIES

    rules = yaml.safe_load((monitoring / "alerts.yml").read_text())
    tests = yaml.safe_load((monitoring / "alerts_test.yml").read_text())
    anchors = runbook_anchors(repo / "docs" / "runbooks.md")

    firing_cases = set()
    for case in tests.get("tests", []):
        for alert_test in case.get("alert_rule_test", []):
            if alert_test.get("exp_alerts"):
                firing_cases.add(alert_test["alertname"])

    alert_names = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            alert_names.append(name)
            for metric in sorted(referenced_metrics(rule["expr"]) - known):
                findings.append(f"alerts.yml: {name} uses {metric}, which signerd does not export")
            if "alert" not in rule:
                continue
            if name not in firing_cases:
                findings.append(f"alerts_test.yml: no test case in which {name} fires")
            runbook = rule.get("annotations", {}).get("runbook", "")
            prefix = "docs/runbooks.md#"
            if not runbook.startswith(prefix):
                findings.append(f"alerts.yml: {name} has no runbook annotation ({prefix}...)")
            elif runbook[len(prefix):] not in anchors:
                findings.append(f"alerts.yml: {name}'s runbook {runbook} names no heading of docs/runbooks.md")
            if rule.get("labels", {}).get("severity") not in ("critical", "warning"):
                findings.append(f"alerts.yml: {name} has no severity critical or warning")
    for name in {n for n in alert_names if alert_names.count(n) > 1}:
        findings.append(f"alerts.yml: {name} is defined more than once")

    dashboards = sorted((monitoring / "grafana" / "dashboards").glob("*.json"))
    if not dashboards:
        findings.append("grafana/dashboards: no dashboard")
    uids = {}
    for path in dashboards:
        try:
            dashboard = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            findings.append(f"{path.name}: not JSON: {error}")
            continue
        uid = dashboard.get("uid")
        if not uid or uid in uids:
            findings.append(f"{path.name}: missing or repeated uid {uid!r}")
        uids[uid] = path.name
        panel_ids = set()
        expressions = 0
        for panel in dashboard.get("panels", []):
            if panel.get("id") in panel_ids:
                findings.append(f"{path.name}: panel id {panel.get('id')} repeated")
            panel_ids.add(panel.get("id"))
            for target in panel.get("targets", []):
                expressions += 1
                for metric in sorted(referenced_metrics(target.get("expr", "")) - known):
                    findings.append(f"{path.name}: panel {panel.get('title')!r} uses {metric}, which signerd does not export")
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable.get("query")
            if isinstance(query, dict):
                query = query.get("query", "")
            for metric in sorted(referenced_metrics(query or "") - known):
                findings.append(f"{path.name}: variable {variable.get('name')} uses {metric}, which signerd does not export")
        if expressions == 0:
            findings.append(f"{path.name}: no panel queries anything")

    providers = yaml.safe_load((monitoring / "grafana" / "provisioning" / "dashboards" / "signer.yaml").read_text())
    if not any(p.get("type") == "file" and p.get("options", {}).get("path") for p in providers.get("providers", [])):
        findings.append("grafana/provisioning/dashboards/signer.yaml: no file provider with a path")

    for finding in findings:
        print(f"check_monitoring: {finding}")
    print(f"check_monitoring: {len(alert_names)} rules, {len(dashboards)} dashboard(s), "
          f"{len(known)} known series, {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
