"""`make test` installs the browser the browser tests drive when it is missing."""

from workers import bootstrap


def _without_chromium(monkeypatch, euid: int) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.delenv("PLANTOPS_CHROMIUM", raising=False)
    monkeypatch.setattr(
        bootstrap.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None
    )
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: euid)
    monkeypatch.setattr(
        bootstrap, "_run", lambda args, env=None, quiet=False: calls.append(args) or True
    )
    return calls


def test_root_installs_chromium_with_apt(monkeypatch):
    calls = _without_chromium(monkeypatch, 0)
    assert bootstrap.main(["--chromium"]) == 0
    assert calls[-1] == ["/usr/bin/apt-get", "install", "-y", "-q", "chromium"]


def test_without_root_it_says_so_and_the_browser_tests_then_fail(monkeypatch, capsys):
    calls = _without_chromium(monkeypatch, 1000)
    assert bootstrap.main(["--chromium"]) == 0
    assert not calls and "browser tests fail" in capsys.readouterr().err
