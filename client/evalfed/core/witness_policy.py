"""Which witnesses' cosignatures make a checkpoint trustworthy: a policy of k of n. No IO.

The text format follows the Sigsum policy file, which C2SP tlog-policy work builds on, with
witnesses named by C2SP vkeys (so a cosignature's key name and key hash are in the key):

    # comments and blank lines are ignored
    witness NAME VKEY             a witness, NAME+KEYHASH+BASE64(0x04 || Ed25519 key)
    group NAME K|all|any MEMBER...  K of the members (witnesses or groups defined above)
    quorum NAME|none              the witness or group whose cosignatures are required

Names are defined once, before they are used; `quorum` comes once, last of all. A policy
with `quorum none` asks for no cosignatures (the log's own signature is then all).
"""

from __future__ import annotations

from dataclasses import dataclass

from evalfed.core.errors import InvalidInputError, LimitError
from evalfed.core.limits import MAX_POLICY_BYTES, MAX_POLICY_NAMES
from evalfed.core.note import SIG_COSIGNATURE_V1, Cosignature, NoteVerifier

NO_QUORUM = "none"


@dataclass(frozen=True)
class Group:
    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class WitnessPolicy:
    witnesses: dict[str, NoteVerifier]
    groups: dict[str, Group]
    quorum: str
    """A witness's or a group's name, or NO_QUORUM."""

    def verifiers(self) -> tuple[NoteVerifier, ...]:
        return tuple(self.witnesses.values())

    def cosigned_by(self, cosignatures: tuple[Cosignature, ...]) -> set[str]:
        """The policy's witnesses among these checked cosignatures."""
        by_key = {(v.name, v.key_hash): name for name, v in self.witnesses.items()}
        return {by_key[c.name, c.key_hash] for c in cosignatures if (c.name, c.key_hash) in by_key}

    def satisfied(self, witnesses: set[str]) -> bool:
        """Whether cosignatures by these witnesses meet the quorum."""
        return self.quorum == NO_QUORUM or self._met(self.quorum, witnesses)

    def _met(self, name: str, witnesses: set[str]) -> bool:
        group = self.groups.get(name)
        if group is None:
            return name in witnesses
        return sum(self._met(m, witnesses) for m in group.members) >= group.threshold

    def describe(self, name: str | None = None) -> str:
        """The quorum in words: "2 of (us, uk, ca)"."""
        name = self.quorum if name is None else name
        group = self.groups.get(name)
        if group is None:
            return name
        members = ", ".join(self.describe(m) for m in group.members)
        return f"{group.threshold} of ({members})"


def parse_policy(text: str) -> WitnessPolicy:
    """A witness policy from its text; InvalidInputError says which line is wrong and why."""
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise LimitError(f"a witness policy has at most {MAX_POLICY_BYTES} bytes")
    witnesses: dict[str, NoteVerifier] = {}
    groups: dict[str, Group] = {}
    quorum: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        where = f"witness policy line {number}"
        if quorum is not None:
            raise InvalidInputError(f"{where}: nothing may follow the quorum line")
        keyword, args = words[0], words[1:]
        if keyword in ("witness", "group") and args:
            _check_new_name(args[0], witnesses, groups, where)
        if keyword == "witness" and len(args) == 2:
            witnesses[args[0]] = _witness_key(args[1], where)
        elif keyword == "group" and len(args) >= 3:
            groups[args[0]] = _group(args[0], args[1], tuple(args[2:]), witnesses, groups, where)
        elif keyword == "quorum" and len(args) == 1:
            if args[0] != NO_QUORUM and args[0] not in witnesses and args[0] not in groups:
                raise InvalidInputError(f"{where}: the quorum {args[0]!r} is not defined above")
            quorum = args[0]
        else:
            raise InvalidInputError(
                f"{where}: expected 'witness NAME VKEY', 'group NAME K|all|any MEMBER...' or "
                f"'quorum NAME|none', not {raw.strip()[:120]!r}"
            )
        if len(witnesses) + len(groups) > MAX_POLICY_NAMES:
            raise LimitError(
                f"a witness policy names at most {MAX_POLICY_NAMES} witnesses and groups"
            )
    if quorum is None:
        raise InvalidInputError("the witness policy has no 'quorum NAME|none' line")
    return WitnessPolicy(witnesses, groups, quorum)


def _check_new_name(
    name: str, witnesses: dict[str, NoteVerifier], groups: dict[str, Group], where: str
) -> None:
    if name == NO_QUORUM or name in witnesses or name in groups:
        raise InvalidInputError(f"{where}: the name {name!r} is taken")


def _witness_key(vkey: str, where: str) -> NoteVerifier:
    try:
        verifier = NoteVerifier.from_vkey(vkey)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{where}: {exc}") from None
    if verifier.sig_type != SIG_COSIGNATURE_V1:
        raise InvalidInputError(
            f"{where}: a witness key is a cosignature key (type 0x04), not type "
            f"{verifier.sig_type:#04x}"
        )
    return verifier


def _group(
    name: str,
    threshold: str,
    members: tuple[str, ...],
    witnesses: dict[str, NoteVerifier],
    groups: dict[str, Group],
    where: str,
) -> Group:
    undefined = [m for m in members if m not in witnesses and m not in groups]
    if undefined:
        raise InvalidInputError(f"{where}: group members not defined above: {', '.join(undefined)}")
    if len(set(members)) != len(members):
        raise InvalidInputError(f"{where}: a group names each member once")
    count = {"all": len(members), "any": 1}.get(threshold)
    if count is None:
        if not threshold.isdigit() or not 1 <= int(threshold) <= len(members):
            raise InvalidInputError(
                f"{where}: a group's threshold is all, any, or a number from 1 to its "
                f"{len(members)} members, not {threshold[:20]!r}"
            )
        count = int(threshold)
    return Group(name, count, members)
