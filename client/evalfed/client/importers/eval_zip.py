"""Opening one entry of an Inspect `.eval` zip as a stream, whatever its compression.

Inspect compresses entries with Zstandard (zip method 93), which Python 3.11's `zipfile` cannot
read. Stored and deflated entries go through `zipfile`; zstd entries are located through the
central directory and decompressed as a stream with `zstandard`, frame after frame, so only the
header entry is ever read and never the samples.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from evalfed.core.errors import InvalidInputError

ZIP_ZSTANDARD = 93
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"


class _Bounded(io.RawIOBase):
    """A reader over `size` bytes of `raw` from its current position."""

    def __init__(self, raw: IO[bytes], size: int) -> None:
        super().__init__()
        self._raw = raw
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(min(len(view), self._left))
        view[: len(data)] = data
        self._left -= len(data)
        return len(data)


@contextmanager
def open_entry(path: Path, archive: zipfile.ZipFile, name: str) -> Iterator[IO[bytes]]:
    """The decompressed bytes of entry `name`, as a stream."""
    info = archive.getinfo(name)
    if info.compress_type != ZIP_ZSTANDARD:
        with archive.open(info) as stream:
            yield stream
        return
    try:
        import zstandard
    except ImportError:
        raise InvalidInputError(
            f"{path} is an Inspect .eval log compressed with Zstandard, which needs the "
            "`zstandard` package: pip install zstandard (or evalfed[inspect])"
        ) from None
    with path.open("rb") as raw:
        raw.seek(info.header_offset)
        header = raw.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
            raise InvalidInputError(f"{path} is a damaged zip: entry {name} has no local header")
        fields = _LOCAL_HEADER.unpack(header)
        name_length, extra_length = fields[-2], fields[-1]
        raw.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        compressed = io.BufferedReader(_Bounded(raw, info.compress_size))
        reader = zstandard.ZstdDecompressor().stream_reader(compressed, read_across_frames=True)
        try:
            yield reader
        except zstandard.ZstdError as exc:
            raise InvalidInputError(f"{path}: entry {name} does not decompress: {exc}") from None
