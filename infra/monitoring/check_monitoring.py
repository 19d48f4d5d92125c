#!/usr/bin/env python3
"""Cross-checks the alert rules, their tests, the runbooks and the Grafana dashboards against the exported metrics.

Usage: check_monitoring.py REPO_ROOT. Prints one line per finding and exits 1 if there is any.
promtool checks each file on its own (infra/check.sh runs it); this script checks what no single
tool sees: that every metric an alert or a panel names is one the code exports (the names
registered in the metric tables of signerd, keyagentd and signer-gateway, listed in
METRIC_SOURCES) or one the rotation playbooks write for node_exporter's textfile collector, that
every job an alert or panel selects is scraped by prometheus.yml, that every alert has a firing
test case and a runbook entry whose heading exists, and that every dashboard parses and is
provisioned.
"""

import json
import pathlib
import re
import sys

import yaml

# Series Prometheus itself makes for every scrape target.
PROMETHEUS_SERIES = {"up"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# Where each program registers its metrics, and the prefix all of its names share. A file that
# registers none (moved or renamed registration) is a finding, so a table cannot silently vanish.
METRIC_SOURCES = {
    "signer/signerd/src/metrics.cc": "signer_",
    "signer/keyagentd/src/key_agent.cc": "keyagent_",
    "gateway/src/forwarder.cc": "gateway_",
}
METRIC_PREFIXES = tuple(sorted(set(METRIC_SOURCES.values())))
# Textfile-collector files the playbooks write (one `# TYPE name kind` line per metric).
TEXTFILE_TEMPLATES = "infra/ansible/roles/*/templates/*.prom.j2"


def registered_metrics(source: pathlib.Path) -> set[str]:
    """The names one source file registers, with each histogram's derived series."""
    text = source.read_text()
    names = set()
    for kind, name in re.findall(r'Add(Counter|Gauge|Histogram)\(\s*"([a-z_:][a-z0-9_:]*)"', text):
        names.add(name)
        if kind == "Histogram":
            names.update(name + suffix for suffix in HISTOGRAM_SUFFIXES)
    return names


def textfile_metrics(repo: pathlib.Path) -> set[str]:
    """The names the playbooks' textfile templates declare."""
    names = set()
    for template in repo.glob(TEXTFILE_TEMPLATES):
        names.update(re.findall(r"^# TYPE ([a-z_:][a-z0-9_:]*) ", template.read_text(), re.MULTILINE))
    return names


def selected_jobs(expr: str) -> set[str]:
    """The values of job="..." matchers (an alternation job=~"a|b" counts each name)."""
    jobs = set()
    for operator, value in re.findall(r'\bjob\s*(=~|=)\s*"([^"]*)"', expr):
        jobs.update(value.split("|") if operator == "=~" else [value])
    return jobs


def referenced_metrics(expr: str) -> set[str]:
    """Metric names in a PromQL expression: the signer_* identifiers and the Prometheus series.

    Label names and values are removed first, so `instance=~"$instance"` or a label value that
    happens to look like a metric name is not counted.
    """
    without_matchers = re.sub(r"\{[^}]*\}", "{}", expr)
    without_strings = re.sub(r'"[^"]*"', '""', without_matchers)
    identifiers = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_strings))
    return {name for name in identifiers if name.startswith(METRIC_PREFIXES) or name in PROMETHEUS_SERIES}


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
    known = set()
    for source, prefix in METRIC_SOURCES.items():
        names = registered_metrics(repo / source)
        if not names:
            findings.append(f"{source}: registers no metric; has the registration moved?")
        for name in sorted(n for n in names if not n.startswith(prefix)):
            findings.append(f"{source}: {name} does not start with {prefix}")
        known |= names
    textfile = textfile_metrics(repo)
    if not textfile:
        findings.append(f"{TEXTFILE_TEMPLATES}: no textfile metric declared")
    known |= textfile | PROMETHEUS_SERIES
    scrape = yaml.safe_load((monitoring / "prometheus.yml").read_text())
    scraped_jobs = {job["job_name"] for job in scrape.get("scrape_configs", [])}

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
                findings.append(f"alerts.yml: {name} uses {metric}, which nothing exports")
            for job in sorted(selected_jobs(rule["expr"]) - scraped_jobs):
                findings.append(f"alerts.yml: {name} selects job {job}, which prometheus.yml does not scrape")
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
                    findings.append(f"{path.name}: panel {panel.get('title')!r} uses {metric}, which nothing exports")
                for job in sorted(selected_jobs(target.get("expr", "")) - scraped_jobs):
                    findings.append(f"{path.name}: panel {panel.get('title')!r} selects job {job}, which prometheus.yml does not scrape")
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable.get("query")
            if isinstance(query, dict):
                query = query.get("query", "")
            for metric in sorted(referenced_metrics(query or "") - known):
                findings.append(f"{path.name}: variable {variable.get('name')} uses {metric}, which nothing exports")
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
