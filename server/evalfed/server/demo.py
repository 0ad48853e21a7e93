"""`make demo`: one institute's node end to end, each step shown as the command a user types.

Creates keys and a federation charter, starts the US node, publishes results, queries them,
writes a bundle and checks it offline (and shows a tampered copy failing), then stops the node.
Everything lives in ./demo-data, recreated on each run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

WORK = Path("demo-data")
CLI = [sys.executable, "-m", "evalfed.client.cli"]
RESULTS = [
    ("gpt-4o-mini-gpqa.json", "openai/gpt-4o-mini", "OpenAI", "gpqa_diamond", 0.412, 0.035),
    ("gpt-4o-mini-mmlu.json", "openai/gpt-4o-mini", "OpenAI", "mmlu", 0.781, 0.004),
    ("claude-gpqa.json", "anthropic/claude-3-5-sonnet", "Anthropic", "gpqa_diamond", 0.596, 0.035),
]


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


def write_results() -> list[str]:
    paths = []
    for name, model, developer, task, value, stderr in RESULTS:
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


def start_node(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    print(f"$ evalfed node run {data_dir} &", flush=True)
    proc = subprocess.Popen(
        [*CLI, "node", "run", str(data_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"demo: the node did not start: {line}")
    print(line, end="", flush=True)
    return proc, line.rsplit(" ", 1)[1].strip()


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()
    keys, charter = WORK / "keys", WORK / "federation.json"

    step("Each founding institute creates its key (the private half never leaves its file)")
    evalfed("keys", "generate", "us-aisi", "--out", str(keys))
    evalfed("keys", "generate", "uk-aisi", "--out", str(keys))

    step("The founders write and sign the federation charter (threshold: 2 endorsements)")
    evalfed(
        "federation", "init", str(charter), "--name", "AISI network", "--threshold", "2",
        "--founder", f"us-aisi={keys / 'us-aisi.pub'}",
        "--founder", f"uk-aisi={keys / 'uk-aisi.pub'}",
        "--sign", str(keys / "us-aisi.key"),
    )  # fmt: skip
    evalfed("federation", "sign", str(charter), "--key", str(keys / "uk-aisi.key"))

    step("The US institute prepares and starts its node")
    us_dir = WORK / "us-node"
    evalfed(
        "node", "init", str(us_dir), "--institute", "us-aisi", "--key", str(keys / "us-aisi.key"),
        "--federation", str(charter), "--listen", "127.0.0.1:0", "--insecure",
    )  # fmt: skip
    node, address = start_node(us_dir)
    try:
        key = str(keys / "us-aisi.key")
        step("Publish results: each record is signed locally and appended to the US log")
        evalfed("publish", *write_results(), "--node", address, "--key", key)
        step("Publishing the same file again creates no duplicate")
        evalfed("publish", str(WORK / "results" / RESULTS[0][0]), "--node", address, "--key", key)

        step("Query what the node holds")
        evalfed("query", "--node", address, "--key", key)
        evalfed("query", "--node", address, "--key", key, "--task", "gpqa_diamond", "--json")

        step("Fetch a record as a self-contained bundle and check it offline")
        first = json.loads(
            evalfed("query", "--node", address, "--key", key, "--limit", "1", "--json")
        )["id"]
        bundle = WORK / "record.bundle.json"
        evalfed("get", first, "--node", address, "--key", key, "--bundle", str(bundle))
        evalfed("verify", str(bundle), "--federation", str(charter))

        step("A bundle with one changed byte fails verification")
        tampered = WORK / "tampered.bundle.json"
        text = bundle.read_text()
        data = json.loads(text)
        payload = data["record"]["payload"]
        data["record"]["payload"] = (
            payload[:-6] + ("A" if payload[-6] != "A" else "B") + payload[-5:]
        )
        tampered.write_text(json.dumps(data, indent=2))
        evalfed("verify", str(tampered), "--federation", str(charter), expect_failure=True)
    finally:
        step("Stop the node (SIGTERM drains calls and stops)")
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=30)
        assert node.stdout is not None
        print(node.stdout.read(), end="", flush=True)
    print("\ndemo finished: everything it wrote is in ./demo-data", flush=True)


if __name__ == "__main__":
    main()
