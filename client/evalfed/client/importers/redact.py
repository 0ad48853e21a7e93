"""Keeping private things out of results: local paths, secrets, credentials, environment dumps.

A `Redactor` cleans the free-form values an importer carries (model, task and generation args,
names, error text) and records the source field path of everything it removed, e.g.
`eval.model_args.api_key` or `config.model_args.pretrained`. Paths are dotted, with `[i]` for list
items. Whole values are dropped rather than half-cleaned, except error text, where each local path
is replaced by `<path>`.
"""

from __future__ import annotations

import re
from typing import Any

_SECRET_NAMES = frozenset(
    {
        "key",
        "token",
        "password",
        "passwd",
        "pwd",
        "secret",
        "credential",
        "credentials",
        "authorization",
        "auth",
        "bearer",
        "cookie",
        "apikey",
        "api_key",
    }
)
_SECRET_SUFFIX = re.compile(
    r"(_key|_secret|_password|_passwd|_credentials|apikey"
    r"|(^|_)(access|auth|api|hf|github|gh|bearer|refresh|session|oauth|secret|private|id)_token)$"
)
_ENV_DUMP_NAMES = frozenset(
    {"pretty_env_info", "env_info", "environ", "env_vars", "environment_variables"}
)
_TOKEN_VALUE = re.compile(
    r"\b(sk-[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_\w{20,}|AKIA[0-9A-Z]{16}|xox[abprs]-[\w-]{10,}|AIza[\w-]{30,})"
)
_LOCAL_PATH_VALUE = re.compile(r"^(/[^/\s]|~([/\\]|$)|[A-Za-z]:[\\/]|\\\\[^\\\s]|file:)")
_ROOTS = (
    "home|Users|root|tmp|mnt|data|scratch|private|var|opt|srv|nfs|gpfs|lustre|workspace|work"
    "|media|Volumes|net|cluster|fsx|efs|checkpoints|models"
)
_EMBEDDED_PATH = re.compile(
    r"(?<![\w.:/\\-])(?:file:/+[^\s\"'<>]*"
    rf"|/(?:{_ROOTS})/[^\s\"',;)\]}}>]*"
    r"|~/[^\s\"',;)\]}>]*"
    r"|[A-Za-z]:\\[^\s\"',;)\]}>]*"
    r"|\\\\[^\\\s]+\\[^\s\"',;)\]}>]*)"
)
_URL_CREDENTIALS = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)([^/\s@]+)@")

DROPPED = object()
"""What `Redactor.value` returns for a value that must not be carried at all."""


def is_secret_key(name: str) -> bool:
    """Whether a field named `name` holds a secret: api_key, token, password, anything *_key."""
    key = name.strip().lower().replace("-", "_")
    return key in _SECRET_NAMES or bool(_SECRET_SUFFIX.search(key))


def is_env_dump_key(name: str) -> bool:
    return name.strip().lower() in _ENV_DUMP_NAMES


def is_local_path(text: str) -> bool:
    """A whole value that is a local path: absolute POSIX or Windows path, ~/..., file: URI."""
    return bool(_LOCAL_PATH_VALUE.match(text.strip()))


def _has_url_credentials(text: str) -> bool:
    for match in _URL_CREDENTIALS.finditer(text):
        scheme, userinfo = match.group(1).lower(), match.group(2)
        if ":" in userinfo or scheme.startswith("http"):
            return True
    return False


def is_private_text(text: str) -> bool:
    """Text that carries a local path, a credential in a URL, or something shaped like a key."""
    return (
        is_local_path(text)
        or bool(_EMBEDDED_PATH.search(text))
        or _has_url_credentials(text)
        or bool(_TOKEN_VALUE.search(text))
    )


class Redactor:
    """Cleans values and remembers, in order and once each, which source paths it stripped."""

    def __init__(self) -> None:
        self.stripped: list[str] = []

    def note(self, path: str) -> None:
        if path not in self.stripped:
            self.stripped.append(path)

    def value(self, value: Any, path: str) -> Any:
        """`value` without private parts, or DROPPED when nothing of it may be carried."""
        if isinstance(value, dict):
            return self.mapping(value, path)
        if isinstance(value, list):
            kept = []
            for index, item in enumerate(value):
                cleaned = self.value(item, f"{path}[{index}]")
                if cleaned is not DROPPED:
                    kept.append(cleaned)
            return kept
        if isinstance(value, str) and is_private_text(value):
            self.note(path)
            return DROPPED
        return value

    def mapping(self, mapping: dict[str, Any], path: str) -> dict[str, Any]:
        """A dict without secret or env-dump keys, and with private values dropped."""
        kept: dict[str, Any] = {}
        for key, item in mapping.items():
            item_path = f"{path}.{key}" if path else str(key)
            if is_secret_key(str(key)) or is_env_dump_key(str(key)):
                if item not in (None, "", {}, []):
                    self.note(item_path)
                continue
            cleaned = self.value(item, item_path)
            if cleaned is not DROPPED:
                kept[key] = cleaned
        return kept

    def text(self, text: str, path: str) -> str:
        """A name or id: kept whole, or "" (and noted) when it is private."""
        if text and is_private_text(text):
            self.note(path)
            return ""
        return text

    def scrub(self, text: str, path: str) -> str:
        """Free text (an error message) with each local path, credential and key replaced."""
        cleaned = _EMBEDDED_PATH.sub("<path>", text)
        cleaned = _URL_CREDENTIALS.sub(lambda m: m.group(1), cleaned)
        cleaned = _TOKEN_VALUE.sub("<secret>", cleaned)
        if cleaned != text:
            self.note(path)
        return cleaned

    def url(self, text: str, path: str) -> str:
        """A repository URL without its user:password part; a local path is dropped."""
        if not text:
            return text
        if is_local_path(text):
            self.note(path)
            return ""
        if _has_url_credentials(text):
            self.note(path)
            return _URL_CREDENTIALS.sub(lambda m: m.group(1), text)
        return text
