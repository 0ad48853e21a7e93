"""Each benchmark figure, measured on real node processes."""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

from google.protobuf import json_format

from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.checks import decode_envelope
from evalfed.core.errors import EvalfedError
from evalfed.core.records import audience_from_text, record_id, sign_record
from evalfed.core.timeutil import now_us, timestamp_of_us
from evalfed.keys import PrivateKey, PublicKey
from evalfed.server.bench.network import BenchNetwork
from evalfed.server.localnet import NodeProcess
from evalfed.server.verifier import CHECK_PROCESSES
from evalfed.v1.node_pb2 import QueryRequest
from evalfed.v1.record_pb2 import EvaluationResult, Metric, Record, Score

MODELS = [f"lab-{i % 7}/model-{i}" for i in range(50)]
TASKS = [f"task-{i}" for i in range(40)]
TIMEOUT_S = 3600.0


class VerifyLimit(NamedTuple):
    rate: float
    """Checks per second over all workers."""
    cpu_us: float
    """CPU microseconds per check."""


def _verify_part(raw_key: bytes, pairs: list[tuple[bytes, bytes]]) -> tuple[float, float]:
    """In a worker: checks each (signature, message); the seconds it took, and its CPU time."""
    key = PublicKey(raw_key)
    key.verify(*pairs[0])  # load the key before timing
    started, cpu = time.perf_counter(), time.process_time()
    for signature, message in pairs:
        key.verify(signature, message)
    return time.perf_counter() - started, time.process_time() - cpu


def verify_limit(samples: int = 40_000, workers: int = CHECK_PROCESSES) -> VerifyLimit:
    """Raw Ed25519 checks per second in `workers` processes, as the node checks them (the
    slowest worker's time counts; process start-up does not), and their CPU per check."""
    key = PrivateKey.generate()
    messages = [i.to_bytes(8, "big") * 64 for i in range(samples)]
    pairs = [(key.sign(m), m) for m in messages]
    chunk = -(-samples // workers)
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        list(pool.map(abs, range(workers * 4)))  # start the workers
        parts = [pairs[i : i + chunk] for i in range(0, samples, chunk)]
        times = list(pool.map(_verify_part, [key.public.raw] * len(parts), parts))
    return VerifyLimit(
        samples / max(wall for wall, _ in times), sum(cpu for _, cpu in times) / samples * 1e6
    )


def result_body(i: int) -> Record:
    result = EvaluationResult()
    result.model.id = MODELS[i % len(MODELS)]
    result.model.developer = result.model.id.split("/")[0]
    result.task.name = TASKS[(i // len(MODELS)) % len(TASKS)]
    result.task.version = "1"
    result.dataset.samples_used = 1000 + i % 500
    metric = Metric(name="accuracy", value=(i % 1000) / 1000, stderr=0.01)
    result.scores.append(Score(scorer="choice", metrics=[metric]))
    result.notes = f"bench record {i}"
    return new_result_record(result, audience_from_text(""))


class Published(NamedTuple):
    rate: float
    """Records per second."""
    cpu_us: float
    """CPU microseconds per record: the client (this process) and the node with its workers."""


def publish_rate(net: BenchNetwork, node: NodeProcess, count: int, offset: int = 0) -> Published:
    """Records/s accepted and stored by `node` through the client, in batches."""
    bodies = [result_body(offset + i) for i in range(count)]
    with net.client(node) as client:
        cpu = time.process_time() + node.cpu_seconds()
        started = time.perf_counter()
        publish_records(client, bodies)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() + node.cpu_seconds() - cpu
        return Published(count / elapsed, cpu / count * 1e6)


def cli_publish_rate(net: BenchNetwork, node: NodeProcess, files: int) -> Published:
    """Files/s that `evalfed publish FOLDER` publishes to `node`, one small result file each,
    timed over the whole command (start-up included), as a user runs it; and the CPU per
    file of the command (its readers included) and the node."""
    folder = Path(tempfile.mkdtemp(prefix="result-files-", dir=net.root))
    for i in range(files):
        result = result_body(20_000_000 + i).result
        (folder / f"result-{i:06d}.json").write_text(json_format.MessageToJson(result))
    key_file = net.key_file("us-aisi")
    command = [sys.executable, "-m", "evalfed.client.cli", "publish", str(folder)]
    command += ["--node", node.address, "--key", str(key_file)]
    cpu = _children_cpu_s() + node.cpu_seconds()
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=TIMEOUT_S)
    elapsed = time.perf_counter() - started
    cpu = _children_cpu_s() + node.cpu_seconds() - cpu
    return Published(files / elapsed, cpu / files * 1e6)


def _children_cpu_s() -> float:
    """CPU seconds of this process's ended children (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CatchUp(NamedTuple):
    rate: float
    """Records per second."""
    cpu_us: float
    """CPU microseconds per record, both nodes and their workers together."""
    node: NodeProcess


def catchup(net: BenchNetwork, source: NodeProcess, count: int, name: str) -> CatchUp:
    """Records/s for an empty node to catch up `count` records from `source` (timed from the
    moment the partner is added, so process start-up is not counted)."""
    node = net.node("uk-aisi", name)
    cpu = source.cpu_seconds() + node.cpu_seconds()
    with net.client(node, "uk-aisi") as client:
        client.update_peers([source.address], [])
    elapsed = net.wait_for_count(node, "us-aisi", count, TIMEOUT_S)
    cpu = source.cpu_seconds() + node.cpu_seconds() - cpu
    return CatchUp(count / elapsed, cpu / count * 1e6, node)


def tree_lag(net: BenchNetwork, nodes: list[NodeProcess], count: int) -> float:
    """Seconds from now until the nodes' trees of us-aisi hold `count` leaves (the trees grow
    after a burst of records, not during it), so the next figure is measured without them."""
    started = time.perf_counter()
    for node in nodes:
        net.wait_for_tree(node, "us-aisi", count, TIMEOUT_S)
    return time.perf_counter() - started


class RelayCatchUp(NamedTuple):
    rate: float
    """Records per second."""
    nodes: list[NodeProcess]
    """The relay B and the end node C."""


def relay_catchup(net: BenchNetwork, source: NodeProcess, count: int) -> RelayCatchUp:
    """Records/s for an empty node C to catch up through an empty relay B (A - B - C)."""
    relay = net.node("uk-aisi", "relay-b")
    end = net.node("ca-aisi", "relay-c", peers=(relay.address,))
    with net.client(relay, "uk-aisi") as client:
        started = time.perf_counter()
        client.update_peers([source.address], [])
    net.wait_for_count(end, "us-aisi", count, TIMEOUT_S)
    return RelayCatchUp(count / (time.perf_counter() - started), [relay, end])


def propagation(
    net: BenchNetwork, source: NodeProcess, follower: NodeProcess, count: int = 200
) -> tuple[float, float]:
    """Milliseconds from publishing at `source` to the record reaching a live-synced
    `follower`, observed on the follower's own live stream: (p50, p99)."""
    arrived: dict[str, float] = {}
    seen = threading.Condition()
    with net.client(follower) as watcher, net.client(source) as publisher:
        head = watcher.status().heads
        have = {(h.origin, h.lane): h.seq for h in head}

        def watch() -> None:
            try:
                for batch in watcher.follow(have):
                    now = time.perf_counter()
                    with seen:
                        for data in batch.envelopes:
                            arrived.setdefault(record_id(decode_envelope(data).payload), now)
                        seen.notify_all()
            except EvalfedError:
                return  # the watcher's channel closed at the end of the measurement

        threading.Thread(target=watch, daemon=True).start()
        head_now = publisher.head()
        seq, prev = head_now.seq, head_now.id
        latencies = []
        for i in range(count):
            record = Record()
            record.CopyFrom(result_body(10_000_000 + i))
            seq += 1
            record.federation_id, record.origin = net.charter.federation_id, "us-aisi"
            record.seq, record.prev = seq, prev
            record.key_id = net.keys["us-aisi"].key_id
            record.issued_at.CopyFrom(timestamp_of_us(now_us()))
            envelope = sign_record(record, net.keys["us-aisi"])
            prev = record_id(envelope.payload)
            started = time.perf_counter()
            publisher.publish([envelope])
            latencies.append((_arrival(seen, arrived, prev) - started) * 1000)
    return percentile(latencies, 50), percentile(latencies, 99)


def _arrival(seen: threading.Condition, arrived: dict[str, float], record: str) -> float:
    with seen:
        if not seen.wait_for(lambda: record in arrived, timeout=30):
            raise TimeoutError(f"record {record[:16]} did not reach the follower")
        return arrived[record]


def query_latency(net: BenchNetwork, node: NodeProcess, count: int = 200) -> tuple[float, float]:
    """Milliseconds for a filtered query (by model, then by task) on `node`: (p50, p99)."""
    latencies = []
    with net.client(node) as client:
        for i in range(count):
            request = (
                QueryRequest(model=MODELS[i % len(MODELS)], page_size=100)
                if i % 2 == 0
                else QueryRequest(task=TASKS[i % len(TASKS)], page_size=100)
            )
            started = time.perf_counter()
            client.query_page(request)
            latencies.append((time.perf_counter() - started) * 1000)
    return percentile(latencies, 50), percentile(latencies, 99)


def percentile(values: list[float], p: int) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[p - 1] if p < 100 else max(values)
    )
