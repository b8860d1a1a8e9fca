"""API credentials of the real sources, read from environment variables only.

Each source plugin names the variables it needs (``SourcePlugin.credentials``) and those it reads
when set (``optional_credentials``); the README's source table and ``vigie sources`` list them.
A source whose variables are missing is disabled with one log line and shows as disabled in the
collector health; it never stops the others. Values are kept as ``SecretStr`` (they print as
``**********``) and are read only where a client is built; ``monitor.logs`` masks them in log
lines that client libraries write at debug level (tweepy logs its ``Authorization`` header there).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from pydantic import SecretStr

DEFAULT_REDDIT_USER_AGENT = "python:vigie:0.1 (self-hosted brand monitor)"


class Credentials:
    """Secrets by variable name: the given ``values`` first, else the environment.

    An empty or blank variable counts as missing.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, **values: str) -> None:
        self._environ = os.environ if environ is None else environ
        self._given = {name: SecretStr(value) for name, value in values.items()}

    def value(self, variable: str) -> str | None:
        """The plain value of one variable, or None when unset or blank."""
        given = self._given.get(variable)
        plain = given.get_secret_value() if given is not None else self._environ.get(variable)
        return (plain.strip() or None) if plain else None

    def missing(self, variables: Iterable[str]) -> list[str]:
        """The ones among ``variables`` that have no value."""
        return [name for name in variables if not self.value(name)]

    def __repr__(self) -> str:
        return f"Credentials({', '.join(sorted(self._given))})"
