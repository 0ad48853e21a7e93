"""Witness policies: the text format, its errors, and k-of-n quorums over nested groups."""

from __future__ import annotations

import re

import pytest

from evalfed.core.errors import InvalidInputError
from evalfed.core.note import Cosigner, NoteSigner
from evalfed.core.witness_policy import parse_policy
from evalfed.keys import PrivateKey


def vkey(name: str) -> str:
    return Cosigner(name, PrivateKey.generate()).verifier.vkey()


def policy_text(quorum: str = "quorum-rule") -> str:
    return "\n".join(
        [
            "# three partners and two of a lab's witnesses",
            *(f"witness {n} {vkey(n)}" for n in ("us", "uk", "ca", "lab-a", "lab-b")),
            "group labs any lab-a lab-b  # either of the lab's",
            "group quorum-rule 2 us uk ca labs",
            f"quorum {quorum}",
            "",
        ]
    )


def test_k_of_n_over_nested_groups() -> None:
    policy = parse_policy(policy_text())
    assert policy.describe() == "2 of (us, uk, ca, 1 of (lab-a, lab-b))"
    assert policy.satisfied({"us", "uk"})
    assert policy.satisfied({"ca", "lab-b"})
    assert not policy.satisfied({"lab-a", "lab-b"})  # one group: one vote
    assert not policy.satisfied({"uk"})
    assert not policy.satisfied(set())


def test_a_single_witness_or_none_can_be_the_quorum() -> None:
    assert parse_policy(policy_text("uk")).satisfied({"uk"})
    assert not parse_policy(policy_text("uk")).satisfied({"us", "ca"})
    assert parse_policy(policy_text("none")).satisfied(set())


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("group g 2 us nobody", "not defined above: nobody"),
        ("group g 3 us uk", "from 1 to its 2 members, not '3'"),
        ("group g 0 us uk", "not '0'"),
        ("group g 1 us us", "each member once"),
        ("group us any uk", "the name 'us' is taken"),
        ("witness log LOG-KEY", "type 0x04"),
        ("witness w not-a-vkey", "NAME+KEYHASH+KEY"),
        ("log abc", "expected 'witness NAME VKEY'"),
        ("quorum nobody", "'nobody' is not defined"),
    ],
)
def test_a_wrong_line_is_named_with_its_number(line: str, says: str) -> None:
    log_key = NoteSigner("log", PrivateKey.generate()).verifier.vkey()  # type 0x01
    line = line.replace("LOG-KEY", log_key)
    text = f"witness us {vkey('us')}\nwitness uk {vkey('uk')}\n{line}\nquorum us\n"
    with pytest.raises(InvalidInputError, match="line 3") as raised:
        parse_policy(text)
    assert says in str(raised.value)


def test_the_quorum_line_is_needed_and_comes_last() -> None:
    with pytest.raises(InvalidInputError, match=re.escape("no 'quorum NAME|none' line")):
        parse_policy(f"witness us {vkey('us')}\n")
    with pytest.raises(InvalidInputError, match="line 3: nothing may follow the quorum"):
        parse_policy(f"witness us {vkey('us')}\nquorum us\nwitness uk {vkey('uk')}\n")


def test_a_vkey_whose_key_hash_is_wrong_is_refused() -> None:
    name, hash_hex, key = vkey("us").split("+", 2)  # the base64 key may hold a "+"
    wrong = f"{name}+{'0' * 8 if hash_hex != '0' * 8 else '1' * 8}+{key}"
    with pytest.raises(InvalidInputError, match=r"line 1: .*wrong key hash"):
        parse_policy(f"witness us {wrong}\nquorum us\n")
