"""deploy/prometheus/civic-signal-rules.yml: valid for ``promtool check rules``, and each alert fires
on the series it is about (and not on a healthy look-alike), by ``promtool test rules``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.services.prometheus import promtool

pytestmark = pytest.mark.prometheus

RULES = REPO / "deploy" / "prometheus" / "civic-signal-rules.yml"
L = 'job="civic-signal-listen",instance="host:9311"'
S = 'job="civic-signal-sink",instance="host:9313"'

# promtool unit tests: series sampled every minute; "a+bxN" is a, a+b, ... (N+1 values)
UNIT_TESTS = f"""
rule_files: ["{RULES}"]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # connected, last post at t=0 (stalled) ...
      - series: 'civic_signal_source_last_post_timestamp_seconds{{{L},source="x"}}'
        values: '0x40'
      - series: 'civic_signal_source_connected{{{L},source="x"}}'
        values: '1x40'
      # ... and a source that keeps posting
      - series: 'civic_signal_source_last_post_timestamp_seconds{{{L},source="mastodon"}}'
        values: '0+60x40'
      - series: 'civic_signal_source_connected{{{L},source="mastodon"}}'
        values: '1x40'
    alert_rule_test:
      - eval_time: 10m
        alertname: CivicSignalSourceStalled
        exp_alerts: []
      - eval_time: 25m
        alertname: CivicSignalSourceStalled
        exp_alerts:
          - exp_labels: {{job: civic-signal-listen, instance: "host:9311", source: x, severity: ticket}}
  - interval: 1m
    input_series:
      - series: 'civic_signal_bus_lag{{{S},topic="classified",group="sink"}}'
        values: '0+100x40'
      - series: 'civic_signal_bus_lag{{{S},topic="dead_letter",group="sink-dlq"}}'
        values: '5000x40'
    alert_rule_test:
      - eval_time: 30m
        alertname: CivicSignalKafkaLagGrowing
        exp_alerts:
          - exp_labels: {{job: civic-signal-sink, instance: "host:9313", topic: classified, group: sink, severity: ticket}}
  - interval: 1m
    input_series:
      - series: 'civic_signal_open311_request_errors_total{{{S},kind="transport"}}'
        values: '0+1x40'
      - series: 'civic_signal_open311_request_errors_total{{{S},kind="http_4xx"}}'
        values: '0x40'
    alert_rule_test:
      - eval_time: 30m
        alertname: CivicSignalOpen311DeliveriesFailing
        exp_alerts:
          - exp_labels: {{job: civic-signal-sink, instance: "host:9313", severity: ticket}}
      - eval_time: 30m
        alertname: CivicSignalOpen311Refused
        exp_alerts: []
  - interval: 1m
    input_series:
      # quiet for an hour, then 5 dead letters a minute: growing
      - series: 'civic_signal_dead_letters_total{{{S},stage="source",reason="JSONDecodeError"}}'
        values: '0x60 0+5x20'
      # a steady 2 a minute all along (a noisy source): not growing
      - series: 'civic_signal_dead_letters_total{{job="civic-signal-sink",instance="other:9313",stage="source",reason="x"}}'
        values: '0+2x80'
    alert_rule_test:
      - eval_time: 50m
        alertname: CivicSignalDeadLettersGrowing
        exp_alerts: []
      - eval_time: 75m
        alertname: CivicSignalDeadLettersGrowing
        exp_alerts:
          - exp_labels: {{job: civic-signal-sink, instance: "host:9313", severity: ticket}}
  - interval: 1m
    input_series:
      - series: 'civic_signal_ready{{{S},check="archive"}}'
        values: '1x5 0x20'
      - series: 'up{{{S}}}'
        values: '1x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: CivicSignalNotReady
        exp_alerts:
          - exp_labels: {{job: civic-signal-sink, instance: "host:9313", check: archive, severity: page}}
      - eval_time: 20m
        alertname: CivicSignalDown
        exp_alerts: []
"""


def _without_annotations(text: str) -> str:
    """The YAML ``text`` less every ``annotations:`` block (the lines indented below it)."""
    out, inside = [], None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if inside is not None and (not line.strip() or indent > inside):
            continue
        inside = indent if line.strip() == "annotations:" else None
        if inside is None:
            out.append(line)
    return "\n".join(out) + "\n"


def test_promtool_checks_the_rules():
    out = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_each_alert_fires_on_its_symptom_and_not_on_a_healthy_look_alike(tmp_path: Path):
    # the rules without their annotations (texts for people: promtool would compare them too)
    bare = tmp_path / "rules.yml"
    bare.write_text(_without_annotations(RULES.read_text()))
    tests = tmp_path / "civic-signal-rules.test.yml"
    tests.write_text(UNIT_TESTS.replace(str(RULES), str(bare)))
    out = subprocess.run([promtool(), "test", "rules", str(tests)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_broken_rule_is_caught(tmp_path: Path):
    """The check is not a formality: promtool refuses a rule with a bad expression."""
    bad = tmp_path / "bad.yml"
    bad.write_text(RULES.read_text().replace("civic_signal_ready == 0", "civic_signal_ready == ", 1))
    out = subprocess.run([promtool(), "check", "rules", str(bad)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
