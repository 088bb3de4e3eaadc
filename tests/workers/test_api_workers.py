"""`plantops api` runs one process per core unless PLANTOPS_API_WORKERS says otherwise."""

from domain.settings import Settings
from workers import cli


def test_one_api_process_per_core_by_default(monkeypatch):
    monkeypatch.delenv("PLANTOPS_API_WORKERS", raising=False)
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 2)
    assert cli.api_workers(Settings()) == 2
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 64)
    assert cli.api_workers(Settings()) == cli.MAX_DEFAULT_API_WORKERS
    monkeypatch.setattr(cli.os, "cpu_count", lambda: None)
    assert cli.api_workers(Settings()) == 1


def test_the_setting_wins_even_when_it_says_one(monkeypatch):
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 4)
    monkeypatch.setenv("PLANTOPS_API_WORKERS", "1")
    assert cli.api_workers(Settings()) == 1
    monkeypatch.setenv("PLANTOPS_API_WORKERS", "3")
    assert cli.api_workers(Settings()) == 3
