"""Assembling a node (storage, service, gRPC server) and running it until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import FrameType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy.engine import Engine

from evalfed.client.channel import SERVER_OPTIONS, CallSigner
from evalfed.client.transport import connect_node, is_loopback
from evalfed.core.charter import verify_charter
from evalfed.core.codec import envelope_from_json
from evalfed.core.errors import InvalidInputError
from evalfed.core.membership import Membership
from evalfed.server.checkpoints import CheckpointSigner
from evalfed.server.config import NodeConfig
from evalfed.server.cosigning import CosignRequester, Witness
from evalfed.server.datadir import tighten_at_start
from evalfed.server.gcpolicy import settle_gc
from evalfed.server.guard import Guard
from evalfed.server.identity import NodeIdentity, load_identity
from evalfed.server.join_limits import JoinRequestLimits
from evalfed.server.lifeline import when_ended
from evalfed.server.members import MembershipKeeper
from evalfed.server.metrics import MetricsServer
from evalfed.server.ratelimit import RateLimiter
from evalfed.server.service import NodeService
from evalfed.server.servicer import NodeApi
from evalfed.server.storage.engine import make_engine, migrate
from evalfed.server.storage.member_store import MemberStore
from evalfed.server.storage.store import RecordStore
from evalfed.server.storage.sync_store import SyncStore
from evalfed.server.storage.witness_store import WitnessStore
from evalfed.server.streams import StreamSlots
from evalfed.server.sync.manager import SyncManager
from evalfed.server.sync.puller import OpenPartner
from evalfed.server.tlog_indexer import TlogIndexer
from evalfed.server.transparency import TransparencyService
from evalfed.server.verifier import Verifier
from evalfed.server.witness import CheckpointBook
from evalfed.v1 import node_pb2
from evalfed.v1.node_pb2_grpc import NodeStub, add_NodeServicer_to_server

log = logging.getLogger("evalfed.node")

SHUTDOWN_GRACE_S = 5.0
SERVICE_NAME = node_pb2.DESCRIPTOR.services_by_name["Node"].full_name


@dataclass
class Node:
    """A built node: call start(), then stop() (or serve() to run until a signal)."""

    config: NodeConfig
    server: grpc.Server
    port: int
    engine: Engine
    store: RecordStore
    service: NodeService
    health: health.HealthServicer
    links: SyncManager
    indexer: TlogIndexer
    cosign_requests: CosignRequester
    metrics: MetricsServer | None = None

    @property
    def address(self) -> str:
        host = self.config.listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    def start(self) -> None:
        self.server.start()
        self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        self.health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
        self.links.start()
        if self.config.log_trees:
            self.cosign_requests.start()
            self.indexer.start()
        if self.metrics is not None and self.config.metrics_listen:
            self.metrics.start(self.config.metrics_listen)

    @property
    def metrics_address(self) -> str:
        """HOST:PORT of the /metrics endpoint once started; empty when it is off."""
        if self.metrics is None or not self.metrics.port:
            return ""
        return f"{self.config.metrics_listen.rsplit(':', 1)[0]}:{self.metrics.port}"

    def stop(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Stops taking calls, lets running ones finish for `grace_s`, then closes storage."""
        self.health.enter_graceful_shutdown()
        self.links.stop()
        self.server.stop(grace_s).wait()
        if self.metrics is not None:
            self.metrics.stop()
        self.indexer.stop()
        self.cosign_requests.stop()
        self.service.verifier.close()
        self.engine.dispose()


def load_membership(config: NodeConfig) -> Membership:
    try:
        text = config.charter_path.read_text()
    except FileNotFoundError:
        raise InvalidInputError(
            f"{config.charter_path} is missing; `evalfed node init` copies the charter there"
        ) from None
    return Membership(verify_charter(envelope_from_json(text, "the federation charter")))


def peer_opener(identity: NodeIdentity, membership: Membership) -> OpenPartner:
    """Opens checked channels to partners (TLS pinned by their binding; plain on loopback
    only), every call signed by this node's key under its binding. A partner's binding is
    checked against this node's live `membership` plus the records the partner sends. With
    each, the partner's institute: the one its verified binding names (on plain loopback, a
    demo, the one it names itself, as nothing can be verified there)."""

    def open_stub(address: str) -> tuple[grpc.Channel, NodeStub, str | None]:
        signer = CallSigner(
            identity.key, identity.institute, membership.federation_id, identity.binding_bytes
        )
        connection = connect_node(address, membership)
        channel = connection.channel(signer)
        return channel, NodeStub(channel), connection.info.institute or None

    return open_stub


def build_node(config: NodeConfig) -> Node:
    """Builds the node and binds its port (0 picks a free one); nothing is served until start()."""
    if config.insecure and not is_loopback(config.listen):
        raise InvalidInputError(
            f"--insecure serves plain gRPC and is for loopback only, not {config.listen}; "
            "drop --insecure (nodes speak TLS) or listen on 127.0.0.1"
        )
    if not 0 < config.max_streams < config.max_workers:
        raise InvalidInputError(
            f"max_streams ({config.max_streams}) must be below max_workers "
            f"({config.max_workers}): each open sync stream holds a worker, and unary calls "
            "need the rest"
        )
    tighten_at_start(config.data_dir)
    membership = load_membership(config)
    engine = make_engine(config.database())
    migrate(engine)
    store = RecordStore(engine, config.max_lanes_per_origin)
    identity = load_identity(config.data_dir, config.institute)
    indexer = TlogIndexer(store)
    indexer.signer = CheckpointSigner(
        indexer.trees,
        config.institute,
        membership.federation_id,
        identity.key,
        refresh_s=config.checkpoint_refresh_s,
    )
    keeper = MembershipKeeper(membership, MemberStore(store), config.institute)
    keeper.refresh()
    if not membership.is_member(config.institute):
        log.warning(
            "%s; its records and sync calls are refused until admitted",
            membership.not_member_reason(config.institute),
        )
    verifier = Verifier(membership, config.institute)
    sync_store = SyncStore(store, config.institute)
    links = SyncManager(sync_store, peer_opener(identity, membership), verifier, keeper.saw)
    witnesses = WitnessStore(store)
    book = CheckpointBook(config.institute, membership, store, indexer.trees, witnesses)
    links.on_gossip = book.take_gossip
    cosign_requests = CosignRequester(
        identity,
        membership,
        book,
        indexer.trees,
        lambda: [address for address, _ in sync_store.peer_list()],
        links.open_stub,
    )
    indexer.signer.on_signed = cosign_requests.signed
    indexer.signer.resume(held.key for held in witnesses.held_since(0))
    keeper.on_change = links.reconnect_all
    service = NodeService(
        config.institute,
        membership,
        store,
        links,
        keeper,
        identity,
        StreamSlots(config.max_streams),
        JoinRequestLimits(keeper, config.join_requests_per_hour, config.join_request_burst),
    )
    service.book = book
    metrics = MetricsServer.build(store, links, book)
    server = grpc.server(
        ThreadPoolExecutor(max_workers=config.max_workers, thread_name_prefix="rpc"),
        interceptors=[
            metrics.calls,
            Guard(
                membership,
                RateLimiter(config.rate_per_caller, config.rate_burst),
                RateLimiter(
                    config.record_rate_per_caller,
                    config.record_burst,
                    "RECORD_RATE_PER_CALLER",
                    "records",
                ),
                (config.institute, identity.institute_key),
                identity.key.public.key_id,
            ),
        ],
        options=SERVER_OPTIONS,
        maximum_concurrent_rpcs=config.max_concurrent_rpcs,
    )
    api = NodeApi(
        service,
        membership.charter.envelope,
        config.insecure,
        TransparencyService(config.institute, store, indexer.trees),
        Witness(identity, membership, book, indexer.trees, witnesses),
    )
    add_NodeServicer_to_server(api, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    try:
        if config.insecure:
            port = server.add_insecure_port(config.listen)
        else:
            tls = grpc.ssl_server_credentials([(identity.tls_key_pem, identity.tls_cert_pem)])
            port = server.add_secure_port(config.listen, tls)
    except RuntimeError:
        port = 0
    if port == 0:
        raise InvalidInputError(
            f"cannot listen on {config.listen}: the address is in use or invalid"
        )
    return Node(
        config,
        server,
        port,
        engine,
        store,
        service,
        health_servicer,
        links,
        indexer,
        cosign_requests,
        metrics,
    )


def serve(config: NodeConfig, end_with_pid: int | None = None) -> None:
    """Runs the node until SIGTERM or SIGINT (or until process `end_with_pid` ends), then
    drains calls and stops."""
    node = build_node(config)
    node.service.verifier.start_workers()
    node.start()
    settle_gc()
    # Handlers go in once the checking workers run (they keep the default) and before the node
    # says it listens: a SIGTERM just after that line must drain and stop it, not kill it.
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; draining and stopping", signal.Signals(signum).name)
        stopping.set()

    def on_starter_ended() -> None:
        log.warning("process %s, which started this node, has ended; stopping", end_with_pid)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if config.insecure:
        log.warning(
            "INSECURE MODE: node-to-node traffic is neither encrypted nor bound to an institute; "
            "use only on loopback for demos"
        )
    print(f"evalfed node {config.institute} listening on {node.address}", flush=True)
    if node.metrics_address:
        log.info("metrics at http://%s/metrics", node.metrics_address)
    if end_with_pid is not None:
        when_ended(end_with_pid, on_starter_ended)
    stopping.wait()
    node.stop()
    try:
        print(f"evalfed node {config.institute} stopped", flush=True)
    except BrokenPipeError:  # whoever read our output has gone (see end_with_pid)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
