"""`make demo`: a federation of three institutes on loopback, each step shown as the command
a user types.

The US, UK and Canadian institutes create keys and sign a charter; each starts a node over TLS
(US <- UK <- Canada: Canada is not the US's partner). The US publishes result files and real
Inspect and lm-evaluation-harness logs, one of them for the UK only; Canada receives the rest
through the UK and checks every signature itself. A bundle is verified offline (and a tampered
copy fails), `evalfed status` shows the links, and the nodes stop on SIGTERM.
Everything lives in ./demo-data, recreated on each run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from evalfed.server.localnet import NodeProcess, free_address
from evalfed.v1.envelope_pb2 import Envelope

WORK = Path("demo-data")
CLI = [sys.executable, "-m", "evalfed.client.cli"]
FIXTURES = Path("tests/fixtures")
REAL_LOGS = [
    FIXTURES / "inspect" / "popularity-mockllm-2024.json",
    FIXTURES / "lm_eval" / "results-v0.4.json",
]
RESTRICTED = {
    "model": {"id": "frontier-lab/pre-release-model", "developer": "frontier-lab"},
    "task": {"name": "cyber_uplift", "version": "2"},
    "scores": [
        {"scorer": "expert", "metrics": [{"name": "success_rate", "value": 0.18, "stderr": 0.04}]}
    ],
}
JAPAN_RESULT = {
    "model": {"id": "openai/gpt-4o-mini", "developer": "OpenAI"},
    "task": {"name": "jmmlu", "version": "1"},
    "scores": [
        {"scorer": "choice", "metrics": [{"name": "accuracy", "value": 0.622, "stderr": 0.011}]}
    ],
}
RESULTS = [
    ("gpt-4o-mini-gpqa.json", "openai/gpt-4o-mini", "OpenAI", "gpqa_diamond", 0.412, 0.035),
    ("gpt-4o-mini-mmlu.json", "openai/gpt-4o-mini", "OpenAI", "mmlu", 0.781, 0.004),
    ("claude-gpqa.json", "anthropic/claude-3-5-sonnet", "Anthropic", "gpqa_diamond", 0.596, 0.035),
]
UK_RESULTS = [
    ("uk-gpt-4o-mini-gpqa.json", "openai/gpt-4o-mini", "OpenAI", "gpqa_diamond", 0.43, 0.02),
    ("uk-gpt-4o-mini-mmlu.json", "openai/gpt-4o-mini", "OpenAI", "mmlu", 0.752, 0.005),
]
"""The UK's own runs of two of the US's tasks: compare's verdicts, one agreeing, one not."""


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def evalfed(*args: str, expect_failure: bool = False) -> str:
    """Runs one `evalfed` command, echoing it and its output."""
    print("$ evalfed " + " ".join(args), flush=True)
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)
    print(done.stdout + done.stderr, end="", flush=True)
    if (done.returncode != 0) != expect_failure:
        raise SystemExit(f"demo: `evalfed {' '.join(args)}` exited {done.returncode}")
    return done.stdout


def write_results(rows: list[tuple[str, str, str, str, float, float]] = RESULTS) -> list[str]:
    paths = []
    for name, model, developer, task, value, stderr in rows:
        path = WORK / "results" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "model": {"id": model, "developer": developer},
                    "task": {"name": task, "version": "1"},
                    "scores": [
                        {
                            "scorer": "choice",
                            "metrics": [{"name": "accuracy", "value": value, "stderr": stderr}],
                        }
                    ],
                },
                indent=2,
            )
        )
        paths.append(str(path))
    return paths


def start_node(data_dir: Path) -> NodeProcess:
    print(f"$ evalfed node run {data_dir} &", flush=True)
    node = NodeProcess(data_dir)
    address = node.start()
    print(f"evalfed node {data_dir.name} listening on {address}", flush=True)
    return node


def wait_for_records(address: str, key: Path, origin: str, count: int) -> None:
    """Follows the node's live sync stream until it holds `count` records of `origin`."""
    from evalfed.client.node_client import NodeClient
    from evalfed.core.records import parse_record, record_id
    from evalfed.keys import load_private_key

    print(f"(waiting on {address}'s live stream for {count} {origin} records)", flush=True)
    seen: set[str] = set()
    with NodeClient(address, load_private_key(key)) as client:
        for batch in client.follow():
            for data in batch.envelopes:
                envelope = Envelope()
                envelope.ParseFromString(data)
                record = parse_record(envelope)
                if record.origin == origin:
                    seen.add(record_id(envelope.payload))
            if len(seen) >= count:
                return


def join_japan(
    keys: Path,
    charter: Path,
    addresses: dict[str, str],
    nodes: list[NodeProcess],
    us_published: int,
) -> None:
    """Japan's institute joins live: request, two endorsements, admission, first record."""
    us, uk, ca = (addresses[n] for n in ("us-aisi", "uk-aisi", "ca-aisi"))
    jp = free_address()
    step("A new country joins: Japan's institute creates its key and files a signed join request")
    evalfed("keys", "generate", "jp-aisi", "--out", str(keys))
    request = WORK / "jp-aisi.join-request.json"
    evalfed("members", "request", "--institute", "jp-aisi", "--key", str(keys / "jp-aisi.key"),
            "--country", "JP", "--name", "Japan AISI", "--address", jp,
            "--out", str(request), "--node", us)  # fmt: skip
    step("Japan starts its node; until admitted, members refuse its calls and records")
    evalfed("node", "init", str(WORK / "jp-aisi"), "--institute", "jp-aisi",
            "--key", str(keys / "jp-aisi.key"), "--federation", str(charter),
            "--listen", jp, "--peer", us)  # fmt: skip
    nodes.append(start_node(WORK / "jp-aisi"))
    step("The US endorses (1 of 2), then the UK (2 of 2: admitted on every node)")
    evalfed("members", "endorse", str(request), "--node", us, "--key", str(keys / "us-aisi.key"))
    evalfed("members", "endorse", str(request), "--node", uk, "--key", str(keys / "uk-aisi.key"))
    wait_for_records(jp, keys / "jp-aisi.key", "us-aisi", us_published)
    step("Japan's node has synced the history it may see; the US pulls from Japan too")
    evalfed("peers", "add", jp, "--node", us, "--key", str(keys / "us-aisi.key"))
    first = WORK / "results" / "jp-first.json"
    first.write_text(json.dumps(JAPAN_RESULT, indent=2))
    evalfed("publish", str(first), "--node", jp, "--key", str(keys / "jp-aisi.key"))
    wait_for_records(ca, keys / "ca-aisi.key", "jp-aisi", 1)
    step("Canada, two partners away, holds Japan's first record and lists Japan as admitted")
    evalfed("query", "--node", ca, "--key", str(keys / "ca-aisi.key"), "--institute", "jp-aisi")
    evalfed("members", "list", "--node", ca, "--key", str(keys / "ca-aisi.key"))


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()
    keys, charter = WORK / "keys", WORK / "federation.json"
    institutes = ("us-aisi", "uk-aisi", "ca-aisi")

    step("Each founding institute creates its key (the private half never leaves its file)")
    for name in institutes:
        evalfed("keys", "generate", name, "--out", str(keys))

    step("The founders write and sign the federation charter (threshold: 2 endorsements)")
    founders = [arg for n in institutes for arg in ("--founder", f"{n}={keys / (n + '.pub')}")]
    evalfed("federation", "init", str(charter), "--name", "AISI network", "--threshold", "2",
            *founders, "--sign", str(keys / "us-aisi.key"))  # fmt: skip
    for name in institutes[1:]:
        evalfed("federation", "sign", str(charter), "--key", str(keys / f"{name}.key"))

    step(
        "Each institute prepares its node: US, then UK (partner of US), then Canada (partner of UK)"
    )
    addresses = {name: free_address() for name in institutes}
    partner = {"us-aisi": None, "uk-aisi": "us-aisi", "ca-aisi": "uk-aisi"}
    for name in institutes:
        peer = partner[name]
        evalfed(
            "node", "init", str(WORK / name), "--institute", name,
            "--key", str(keys / f"{name}.key"), "--federation", str(charter),
            "--listen", addresses[name], *(["--peer", addresses[peer]] if peer else []),
        )  # fmt: skip
    nodes: list[NodeProcess] = []
    try:
        step("Start the three nodes (TLS; each certificate bound to its institute by a signature)")
        for name in institutes:
            nodes.append(start_node(WORK / name))
        us, uk, ca = (addresses[n] for n in institutes)
        us_key = str(keys / "us-aisi.key")
        step("The US also pulls from the UK (partners can be changed on a running node)")
        evalfed("peers", "add", uk, "--node", us, "--key", us_key)

        step("The US institute publishes: its own result files and real evaluation logs")
        published = evalfed("publish", *write_results(), "--node", us, "--key", us_key).split()
        for log in REAL_LOGS:
            if log.exists():
                published += evalfed("publish", str(log), "--node", us, "--key", us_key).split()
        step("One result only for the UK institute")
        restricted = WORK / "results" / "restricted.json"
        restricted.write_text(json.dumps(RESTRICTED, indent=2))
        evalfed("publish", str(restricted), "--node", us, "--key", us_key, "--audience", "uk-aisi")
        step("Publishing the same file again creates no duplicate")
        evalfed("publish", str(WORK / "results" / RESULTS[0][0]), "--node", us, "--key", us_key)

        step("The UK institute publishes its own runs of two of the same tasks")
        uk_key = str(keys / "uk-aisi.key")
        evalfed("publish", *write_results(UK_RESULTS), "--node", uk, "--key", uk_key)

        wait_for_records(ca, keys / "ca-aisi.key", "us-aisi", len(published))
        wait_for_records(ca, keys / "ca-aisi.key", "uk-aisi", len(UK_RESULTS))

        step("Canada holds the US records, relayed by the UK and checked by Canada itself")
        evalfed("query", "--node", ca, "--key", str(keys / "ca-aisi.key"))
        step("The UK also holds the record meant only for it")
        evalfed("query", "--node", uk, "--key", str(keys / "uk-aisi.key"), "--task", "cyber_uplift")
        evalfed("query", "--node", ca, "--key", str(keys / "ca-aisi.key"), "--task", "cyber_uplift")

        step("Compare results on one model across institutes (signatures re-checked locally)")
        evalfed("compare", "--node", ca, "--key", str(keys / "ca-aisi.key"),
                "--model", "openai/gpt-4o-mini")  # fmt: skip

        step("Fetch a record at Canada as a bundle and check it offline")
        first = json.loads(
            evalfed(
                "query", "--node", ca, "--key", str(keys / "ca-aisi.key"), "--limit", "1", "--json"
            )
        )["id"]
        bundle = WORK / "record.bundle.json"
        evalfed(
            "get", first, "--node", ca, "--key", str(keys / "ca-aisi.key"), "--bundle", str(bundle)
        )
        evalfed("verify", str(bundle), "--federation", str(charter))
        step("A bundle with one changed byte fails verification")
        tampered = WORK / "tampered.bundle.json"
        data = json.loads(bundle.read_text())
        payload = data["record"]["payload"]
        data["record"]["payload"] = (
            payload[:-6] + ("A" if payload[-6] != "A" else "B") + payload[-5:]
        )
        tampered.write_text(json.dumps(data, indent=2))
        evalfed("verify", str(tampered), "--federation", str(charter), expect_failure=True)

        join_japan(keys, charter, addresses, nodes, len(published))

        step("Status of the UK and Canadian nodes: partners, records received, heads and lag")
        evalfed("status", "--node", uk, "--key", str(keys / "uk-aisi.key"))
        evalfed("status", "--node", ca, "--key", str(keys / "ca-aisi.key"))
    finally:
        step("Stop the nodes (SIGTERM drains calls and stops)")
        for node in nodes:
            print(node.stop(), end="", flush=True)
    print("\ndemo finished: everything it wrote is in ./demo-data (node logs: *.log)", flush=True)


if __name__ == "__main__":
    main()
