"""`make dashboard-shots`: demo-like nodes, then PNG screenshots of the dashboard's main pages.

The US, UK and Canadian institutes each run a node (separate processes, TLS; the US and the UK
pull from each other, the UK and Canada too) and publish results for the same models and tasks;
the US also publishes one result for the UK only, the UK retracts one of its own, and Japan
asks to join. The dashboard runs over the US node with the US key, and headless chromium
(Debian's) photographs its pages into the folder given. Not part of CI; everything it writes
besides the PNGs lives in a temporary folder.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.charter import build_charter, charter_envelope, sign_charter, verify_charter
from evalfed.core.records import audience_from_text
from evalfed.core.timeutil import now_us
from evalfed.dashboard.serve import serving
from evalfed.keys import PrivateKey, generate_key_files
from evalfed.server.config import NodeConfig
from evalfed.server.datadir import prepare_data_dir
from evalfed.server.demo import wait_for_records
from evalfed.server.localnet import NodeProcess, free_address
from evalfed.v1.record_pb2 import EvaluationResult, Metric, Record, Retraction, Score
from tests.integration.test_dashboard import CHROMIUM, CHROMIUM_ARGS

INSTITUTES = ("us-aisi", "uk-aisi", "ca-aisi")
PARTNERS = {"us-aisi": ("uk-aisi",), "uk-aisi": ("us-aisi", "ca-aisi"), "ca-aisi": ("uk-aisi",)}
RESULTS: dict[str, list[tuple[str, str, float, float | None]]] = {
    "us-aisi": [
        ("openai/gpt-4o-mini", "gpqa_diamond", 0.412, 0.035),
        ("openai/gpt-4o-mini", "mmlu", 0.781, 0.004),
        ("anthropic/claude-3-5-sonnet", "gpqa_diamond", 0.596, 0.035),
        ("anthropic/claude-3-5-sonnet", "cyber_ctf", 0.31, 0.03),
    ],
    "uk-aisi": [
        ("openai/gpt-4o-mini", "gpqa_diamond", 0.430, 0.020),
        ("openai/gpt-4o-mini", "mmlu", 0.752, 0.005),
        ("anthropic/claude-3-5-sonnet", "gpqa_diamond", 0.571, 0.030),
        ("anthropic/claude-3-5-sonnet", "cyber_ctf", 0.28, None),
        ("openai/gpt-4o-mini", "simpleqa", 0.09, 0.01),
    ],
    "ca-aisi": [
        ("openai/gpt-4o-mini", "gpqa_diamond", 0.405, 0.025),
        ("openai/gpt-4o-mini", "mmlu", 0.779, 0.006),
    ],
}
RESTRICTED = ("frontier-lab/pre-release-model", "cyber_uplift", 0.18, 0.04)
PAGES = [
    ("matrix", ""),
    ("model", "models/openai/gpt-4o-mini"),
    ("record", None),
    ("members", "members"),
    ("partners", "partners"),
]


def body(model: str, task: str, value: float, stderr: float | None) -> EvaluationResult:
    metric = Metric(name="accuracy", value=value, n=198)
    if stderr is not None:
        metric.stderr = stderr
    result = EvaluationResult()
    result.model.id, result.model.developer = model, model.split("/")[0]
    result.task.name, result.task.version = task, "1"
    result.scores.append(Score(scorer="choice", metrics=[metric]))
    return result


def start_federation(root: Path) -> tuple[dict[str, PrivateKey], dict[str, NodeProcess]]:
    keys = {name: generate_key_files(name, root / "keys") for name in INSTITUTES}
    envelope = charter_envelope(
        build_charter("AISI network", 2, [(n, keys[n].public) for n in INSTITUTES], now_us())
    )
    for name in INSTITUTES:
        sign_charter(envelope, keys[name])
    charter = verify_charter(envelope)
    addresses = {name: free_address() for name in INSTITUTES}
    nodes = {}
    for name in INSTITUTES:
        config = NodeConfig(data_dir=root / name, institute=name, listen=addresses[name])
        prepare_data_dir(config, charter, keys[name], [addresses[p] for p in PARTNERS[name]])
        nodes[name] = NodeProcess(root / name)
        nodes[name].start()
    return keys, nodes


def publish_all(keys: dict[str, PrivateKey], nodes: dict[str, NodeProcess]) -> str:
    """Publishes every institute's results; returns the id of one UK record for its page."""
    members = audience_from_text("")
    shown = ""
    for name, rows in RESULTS.items():
        with NodeClient(nodes[name].address, keys[name]) as client:
            ids = [o.id for o in publish_records(
                client, [new_result_record(body(*row), members) for row in rows])]  # fmt: skip
            if name == "us-aisi":
                restricted = new_result_record(body(*RESTRICTED), audience_from_text("uk-aisi"))
                publish_records(client, [restricted])
            if name == "uk-aisi":
                shown = ids[0]
                retraction = Retraction(target=ids[-1], reason="the grader was misconfigured")
                publish_records(client, [Record(retraction=retraction)])
    us = nodes["us-aisi"].address
    key = nodes["us-aisi"].data_dir.parent / "keys" / "us-aisi.key"
    wait_for_records(us, key, "uk-aisi", len(RESULTS["uk-aisi"]) + 1)
    wait_for_records(us, key, "ca-aisi", len(RESULTS["ca-aisi"]))
    return shown


def japan_asks_to_join(root: Path, nodes: dict[str, NodeProcess]) -> None:
    """Japan files a join request at the US node, which endorses it: pending, 1 of 2."""
    cli = [sys.executable, "-m", "evalfed.client.cli"]
    us, keys, request = nodes["us-aisi"].address, root / "keys", root / "jp-aisi.join.json"
    generate_key_files("jp-aisi", keys)
    for args in (
        ["members", "request", "--institute", "jp-aisi", "--key", str(keys / "jp-aisi.key"),
         "--country", "JP", "--name", "Japan AISI", "--address", free_address(),
         "--out", str(request), "--node", us],
        ["members", "endorse", str(request), "--node", us, "--key", str(keys / "us-aisi.key")],
    ):  # fmt: skip
        subprocess.run([*cli, *args], check=True, capture_output=True, timeout=120)


def shoot(url: str, record_id: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for name, path in PAGES:
            page.goto(url + (path if path is not None else f"records/{record_id}"))
            page.screenshot(path=str(out / f"dashboard-{name}.png"), full_page=True)
            print(f"wrote {out / f'dashboard-{name}.png'}", flush=True)
        browser.close()


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="evalfed-shots-") as folder:
        keys, nodes = start_federation(Path(folder))
        try:
            record_id = publish_all(keys, nodes)
            japan_asks_to_join(Path(folder), nodes)
            with (
                NodeClient(nodes["us-aisi"].address, keys["us-aisi"]) as client,
                serving(client) as dashboard,
            ):
                shoot(dashboard.url, record_id, out)
        finally:
            for node in nodes.values():
                node.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
