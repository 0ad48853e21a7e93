"""The node's partner links: one PeerLink per configured partner, changed while running."""

from __future__ import annotations

import threading
from collections.abc import Callable

from evalfed.core.checks import VerifiedRecord
from evalfed.server.storage.sync_store import SyncStore
from evalfed.server.sync.puller import LinkStats, OnGossip, OpenPartner, PeerLink, no_gossip
from evalfed.server.verifier import Verifier


class SyncManager:
    """Starts, stops and reports the links to this node's partners."""

    def __init__(
        self,
        store: SyncStore,
        open_stub: OpenPartner,
        verifier: Verifier,
        on_stored: Callable[[list[VerifiedRecord]], None] = lambda _: None,
    ) -> None:
        self.on_stored = on_stored
        self.on_gossip: OnGossip = no_gossip
        """Takes the checkpoints and evidence partners send (set before start())."""
        self.store = store
        self.open_stub = open_stub
        self.verifier = verifier
        self._links: dict[str, PeerLink] = {}
        self._lock = threading.Lock()
        self.reconnects = 0
        """How often every link was told to reconnect (a membership change)."""

    def start(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Brings the running links in line with the stored partner list."""
        wanted = [address for address, _ in self.store.peer_list()]
        with self._lock:
            for address in list(self._links):
                if address not in wanted:
                    self._links.pop(address).stop()
            for address in wanted:
                if address not in self._links:
                    link = PeerLink(
                        address,
                        self.store,
                        self.verifier,
                        self.open_stub,
                        self.on_stored,
                        self.on_gossip,
                    )
                    self._links[address] = link
                    link.start()

    def reconnect_all(self) -> None:
        """Every link asks its partner again (records refused before may now be accepted)."""
        with self._lock:
            self.reconnects += 1
            for link in self._links.values():
                link.reconnect()

    def stats(self) -> dict[str, LinkStats]:
        with self._lock:
            links = dict(self._links)
        return {address: link.settled_stats() for address, link in links.items()}

    def stop(self) -> None:
        with self._lock:
            links = list(self._links.values())
            self._links.clear()
        for link in links:
            link.stop()
