"""A full demo run leaks no key material or envelope payload into the node logs, and every
private key file it wrote is mode 0600."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

LONG_BASE64 = re.compile(rb"[A-Za-z0-9+/]{120,}={0,2}")
LONG_HEX = re.compile(rb"[0-9a-f]{65,}")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_demo_logs_hold_no_secrets(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "evalfed.server.demo"],
        cwd=tmp_path,
        capture_output=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    data = tmp_path / "demo-data"
    private_files = [p for p in data.rglob("*") if p.name.endswith(".key")]
    assert len(private_files) >= 12  # 4 institute keys, and a node key and TLS key per node
    secrets = []
    for path in private_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        secrets += [line for line in path.read_bytes().splitlines() if b"-----" not in line]
    logs = list(data.glob("*.log"))
    assert len(logs) == 4
    for log in logs:
        text = log.read_bytes()
        assert b"PRIVATE KEY" not in text, log
        for secret in secrets:
            assert secret not in text, f"key material in {log}"
        assert not LONG_BASE64.search(text), f"a long base64 blob (payload?) in {log}"
        assert not LONG_HEX.search(text), f"a long hex blob in {log}"
