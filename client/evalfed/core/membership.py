"""Who the members are and which keys speak for them, derived from the signed charter."""

from __future__ import annotations

from evalfed.core.charter import VerifiedCharter
from evalfed.keys import PublicKey


class Membership:
    """The federation's members and their keys (for now: the charter's founders)."""

    def __init__(self, charter: VerifiedCharter) -> None:
        self.charter = charter
        self._keys = {name: [key] for name, key in charter.founder_keys().items()}

    @property
    def federation_id(self) -> str:
        return self.charter.federation_id

    @property
    def threshold(self) -> int:
        return self.charter.charter.threshold

    def institutes(self) -> list[str]:
        return sorted(self._keys)

    def is_member(self, institute: str) -> bool:
        return institute in self._keys

    def keys_for(self, institute: str) -> list[PublicKey]:
        """The keys valid for `institute`'s records; empty for a non-member."""
        return list(self._keys.get(institute, ()))

    def institute_of_key(self, key_id: str) -> str | None:
        for institute, keys in self._keys.items():
            if any(k.key_id == key_id for k in keys):
                return institute
        return None
