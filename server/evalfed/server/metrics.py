"""The node's Prometheus metrics, served over HTTP at /metrics when `metrics_listen` is set.

Calls are counted and timed by a server interceptor of their own, by method and status code.
Sync, fork and storage figures are read when scraped, from the partner links' stats and the
store. Labels name methods, codes, partner addresses, institutes and rejection reasons only:
never a model, a record id or a lane (a lane names a restricted audience).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import start_http_server
from prometheus_client.registry import Collector

from evalfed.core.errors import InvalidInputError
from evalfed.server.storage.store import RecordStore
from evalfed.server.sync.manager import SyncManager
from evalfed.server.witness import CheckpointBook

log = logging.getLogger(__name__)

NAMESPACE = "evalfed"
REASON = re.compile(r"[a-z_]{1,32}")
"""A rejection reason as a label: the error kind before the message ('signature', 'chain')."""
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def method_label(full_method: str) -> str:
    """'/evalfed.v1.Node/Sync' -> 'Sync'; other services keep their full name."""
    service, _, name = full_method.lstrip("/").rpartition("/")
    return name if service.startswith("evalfed.") else full_method


class CallMetrics(grpc.ServerInterceptor):
    """Counts and times every call the node serves, by method and final status code. Calls
    to methods the node does not serve are not counted (their names are the caller's)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.started = Counter(
            "grpc_server_started",
            "RPCs started on the node, by method (a sync stream is handled when it ends).",
            ["grpc_method"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.handled = Counter(
            "grpc_server_handled",
            "RPCs completed on the node, by method and status code.",
            ["grpc_method", "grpc_code"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.latency = Histogram(
            "grpc_server_handling_seconds",
            "Time from an RPC's start to its end (a sync stream: its whole life).",
            ["grpc_method", "grpc_code"],
            namespace=NAMESPACE,
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )

    def _done(
        self, method: str, context: grpc.ServicerContext, started: float, failed: bool
    ) -> None:
        code = context.code()  # type: ignore[attr-defined]
        if code is None and failed:
            code = grpc.StatusCode.CANCELLED if not context.is_active() else grpc.StatusCode.UNKNOWN
        elif code is None:
            code = grpc.StatusCode.OK
        name = code.name if isinstance(code, grpc.StatusCode) else str(code)
        self.handled.labels(method, name).inc()
        self.latency.labels(method, name).observe(time.perf_counter() - started)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        method = method_label(details.method)
        if handler.unary_unary is not None:
            inner = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                self.started.labels(method).inc()
                started = time.perf_counter()
                failed = True
                try:
                    response = inner(request, context)
                    failed = False
                    return response
                finally:
                    self._done(method, context, started, failed)

            return grpc.unary_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream is not None:
            inner_stream = handler.unary_stream

            def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                self.started.labels(method).inc()
                started = time.perf_counter()
                failed = True
                try:
                    yield from inner_stream(request, context)
                    failed = False
                finally:
                    self._done(method, context, started, failed)

            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        return handler


class NodeCollector(Collector):
    """Sync, fork and storage figures, read from the links and the store at each scrape."""

    def __init__(
        self, store: RecordStore, links: SyncManager, book: CheckpointBook | None = None
    ) -> None:
        self.store = store
        self.links = links
        self.book = book

    def collect(self) -> Iterable[Metric]:
        labels = ["partner", "institute"]
        lag = GaugeMetricFamily(
            f"{NAMESPACE}_sync_lag_records",
            "Records a partner holds (as it claims) that this node lacks, gaps included.",
            labels=labels,
        )
        received = CounterMetricFamily(
            f"{NAMESPACE}_sync_records_received",
            "Records received from a partner and stored (new records and fork evidence).",
            labels=labels,
        )
        rejected = CounterMetricFamily(
            f"{NAMESPACE}_sync_records_rejected",
            "Records from a partner that were rejected, by reason; nothing of them is stored.",
            labels=[*labels, "reason"],
        )
        contact = GaugeMetricFamily(
            f"{NAMESPACE}_sync_last_contact_timestamp_seconds",
            "When a partner last answered (Unix time; 0: never).",
            labels=labels,
        )
        state = GaugeMetricFamily(
            f"{NAMESPACE}_sync_link_state",
            "1 for the state each partner link is in.",
            labels=[*labels, "state"],
        )
        links = self.links.stats()
        lags = self.links.store.lags({address: stats.heads for address, stats in links.items()})
        for address, stats in sorted(links.items()):
            ids = [address, stats.institute]
            lag.add_metric(ids, lags[address])
            received.add_metric(ids, stats.received)
            by_reason: dict[str, int] = {}
            for reason, count in stats.rejected.items():
                label = reason if REASON.fullmatch(reason) else "other"
                by_reason[label] = by_reason.get(label, 0) + count
            for reason, count in sorted(by_reason.items()):
                rejected.add_metric([*ids, reason], count)
            contact.add_metric(ids, stats.last_contact_us / 1e6)
            state.add_metric([*ids, stats.state], 1)
        forked = GaugeMetricFamily(
            f"{NAMESPACE}_forked_origin",
            "1 for each origin institute whose log this node holds a fork of.",
            labels=["institute"],
        )
        for origin in sorted(self.store.forked_origins()):
            forked.add_metric([origin], 1)
        records = GaugeMetricFamily(
            f"{NAMESPACE}_store_records", "Records stored on this node, of every origin."
        )
        records.add_metric([], self.store.count())
        logs = GaugeMetricFamily(
            f"{NAMESPACE}_store_logs", "Logs (origin and lane) this node holds records of."
        )
        logs.add_metric([], len(self.store.logs()))
        missing = GaugeMetricFamily(
            f"{NAMESPACE}_store_missing_records",
            "Seqs missing below the heads of the logs this node holds (gaps a partner left).",
        )
        missing.add_metric([], self.store.missing_records())
        yield from (lag, received, rejected, contact, state, forked, records, logs, missing)
        if self.book is not None:
            yield from self._witness_metrics(self.book)

    def _witness_metrics(self, book: CheckpointBook) -> Iterable[Metric]:
        split = GaugeMetricFamily(
            f"{NAMESPACE}_split_views",
            "Split-view evidence held: pairs of checkpoints of one log, both signed by its "
            "origin, that cannot both hold, by origin institute.",
            labels=["institute"],
        )
        _per_institute(split, [(held.key[0], 1) for held in book.witnesses.split_views_since(0)])
        lag = GaugeMetricFamily(
            f"{NAMESPACE}_checkpoint_lag_records",
            "Records an origin's signed checkpoint covers that this node lacks (summed over "
            "the origin's logs): what a withholding relay cannot hide.",
            labels=["institute"],
        )
        _per_institute(lag, [(status.key[0], status.lag) for status in book.status()])
        unproven = CounterMetricFamily(
            f"{NAMESPACE}_checkpoints_unproven",
            "Larger checkpoints left aside because no consistency proof could be had.",
        )
        unproven.add_metric([], book.unproven)
        yield from (split, lag, unproven)


def _per_institute(family: GaugeMetricFamily, counts: Iterable[tuple[str, int]]) -> None:
    """Adds to `family` the sum of the counts of each institute."""
    sums: dict[str, int] = {}
    for institute, count in counts:
        sums[institute] = sums.get(institute, 0) + count
    for institute, total in sorted(sums.items()):
        family.add_metric([institute], total)


@dataclass
class MetricsServer:
    """The /metrics HTTP endpoint of one node (its own registry, so nodes in one process
    keep their figures apart)."""

    registry: CollectorRegistry
    calls: CallMetrics
    http: WSGIServer | None = None

    @classmethod
    def build(
        cls, store: RecordStore, links: SyncManager, book: CheckpointBook | None = None
    ) -> MetricsServer:
        registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        registry.register(NodeCollector(store, links, book))
        return cls(registry, CallMetrics(registry))

    @property
    def port(self) -> int:
        return self.http.server_port if self.http is not None else 0

    def start(self, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        if host not in ("127.0.0.1", "::1", "localhost"):
            log.warning(
                "metrics served on %s without authentication: they name partners and their "
                "institutes; keep the port off the internet",
                listen,
            )
        try:
            self.http, _ = start_http_server(int(port), host, self.registry)
        except (OSError, ValueError) as exc:
            raise InvalidInputError(
                f"cannot serve metrics on {listen!r} (metrics_listen): {exc}; "
                "give a free HOST:PORT, or leave it empty for no metrics"
            ) from None

    def stop(self) -> None:
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
            self.http = None
