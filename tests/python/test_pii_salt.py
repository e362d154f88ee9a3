"""The PII salt: required on real targets, never the public demo value there."""

from __future__ import annotations

import pytest

from governance.dbt_plugin import resolve_salt
from governance.settings import DEMO_PII_SALT, PII_SALT_ENV, PiiSaltError


def test_demo_target_falls_back_to_the_documented_demo_salt(monkeypatch):
    monkeypatch.delenv(PII_SALT_ENV, raising=False)
    assert resolve_salt(allow_demo_salt=True) == DEMO_PII_SALT


def test_real_target_refuses_to_run_without_a_salt(monkeypatch):
    monkeypatch.delenv(PII_SALT_ENV, raising=False)
    with pytest.raises(PiiSaltError, match="GOVERNANCE_PII_SALT is not set"):
        resolve_salt(allow_demo_salt=False)


def test_real_target_refuses_the_demo_salt(monkeypatch):
    monkeypatch.setenv(PII_SALT_ENV, DEMO_PII_SALT)
    with pytest.raises(PiiSaltError, match="public demo salt"):
        resolve_salt(allow_demo_salt=False)


def test_real_target_uses_the_secret_salt(monkeypatch):
    monkeypatch.setenv(PII_SALT_ENV, "s3cret-value")
    assert resolve_salt(allow_demo_salt=False) == "s3cret-value"
