"""Key files: generation, modes, refusals, and ids."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from evalfed.core.errors import KeyFileError
from evalfed.keys import generate_key_files, load_private_key, load_public_key


def test_generate_writes_private_0600_and_public(tmp_path: Path) -> None:
    key = generate_key_files("us-aisi", tmp_path)
    private, public = tmp_path / "us-aisi.key", tmp_path / "us-aisi.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in private.read_bytes()
    assert b"PUBLIC KEY" in public.read_bytes()
    assert load_private_key(private).key_id == key.key_id
    assert load_public_key(public).key_id == key.key_id
    assert key.key_id == hashlib.sha256(key.public.raw).hexdigest()


def test_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    generate_key_files("us-aisi", tmp_path)
    before = (tmp_path / "us-aisi.key").read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        generate_key_files("us-aisi", tmp_path)
    assert (tmp_path / "us-aisi.key").read_bytes() == before


def test_private_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    generate_key_files("us-aisi", tmp_path)
    path = tmp_path / "us-aisi.key"
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_private_key(path)


def test_public_key_where_private_is_needed(tmp_path: Path) -> None:
    generate_key_files("us-aisi", tmp_path)
    with pytest.raises(KeyFileError, match="holds a public key"):
        load_private_key(tmp_path / "us-aisi.pub")


@pytest.mark.parametrize("content", [b"", b"not a key", b"-----BEGIN PRIVATE KEY-----\nxx\n"])
def test_garbage_key_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError):
        load_private_key(path)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist"):
        load_private_key(tmp_path / "nope.key")


def test_private_key_never_printed(tmp_path: Path) -> None:
    key = generate_key_files("us-aisi", tmp_path)
    pem = (tmp_path / "us-aisi.key").read_text()
    body = "".join(pem.splitlines()[1:-1])
    assert body not in repr(key) and body not in str(key)
