"""dbt-duckdb plugin: hands the PII hashing salt to every DuckDB connection dbt opens, and stops
the read-only clients (`dbt debug`, `dbt show`, MetricFlow's `mf`) with one clear line when there
is no warehouse to read yet.

The salt is read from the ``GOVERNANCE_PII_SALT`` environment variable and stored in a DuckDB
session variable (``governance_pii_salt``). Staging models read it with ``getvariable`` so the
salt never appears in compiled SQL, in the manifest, in the docs site or in view definitions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from governance.settings import DEMO_PII_SALT, PII_SALT_ENV, PiiSaltError

SALT_VARIABLE = "governance_pii_salt"


def resolve_salt(allow_demo_salt: bool) -> str:
    """Return the salt to hash PII with, refusing the demo default outside demo targets."""
    salt = os.environ.get(PII_SALT_ENV, "")
    if not salt:
        if not allow_demo_salt:
            raise PiiSaltError(
                f"{PII_SALT_ENV} is not set: this target hashes real PII and needs its own "
                "secret salt (the demo default is only accepted on the 'dev' target)."
            )
        return DEMO_PII_SALT
    if salt == DEMO_PII_SALT and not allow_demo_salt:
        raise PiiSaltError(
            f"{PII_SALT_ENV} holds the public demo salt: set a secret salt for this target."
        )
    return salt


class NoWarehouseError(RuntimeError):
    """A read-only client was pointed at a warehouse file that does not exist."""


def assert_readable(read_only_path: str) -> None:
    """NoWarehouseError when a read-only client's warehouse file is missing (DuckDB would say
    only that it cannot open it read-only)."""
    if read_only_path and not Path(read_only_path).is_file():
        raise NoWarehouseError(
            f"no warehouse at {read_only_path} to read: build it first (`make demo`, or "
            "`governance build`; GOVERNANCE_DUCKDB_PATH for another file)"
        )


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        assert_readable(str(plugin_config.get("read_only_path") or ""))
        allow = str(plugin_config.get("allow_demo_salt", "false")).strip().lower()
        self._salt = resolve_salt(allow in {"1", "true", "yes"})

    def _set(self, conn) -> None:
        conn.execute(f"set variable {SALT_VARIABLE} = ?", [self._salt])

    def configure_connection(self, conn) -> None:
        self._set(conn)

    def configure_cursor(self, cursor) -> None:
        self._set(cursor)
