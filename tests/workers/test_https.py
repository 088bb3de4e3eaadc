"""`plantops up --https`: a self-signed certificate naming this machine, made once under the
data folder and reused, that a client trusting it completes a TLS handshake with."""

import argparse
import socket
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta

import uvicorn
from cryptography import x509

from api.tls import RENEW_BEFORE, VALIDITY, ensure_certificate
from domain.settings import Settings
from workers import cli
from workers.embedded import free_port


def _alt_names(path) -> tuple[set[str], set[str]]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(alt.get_values_for_type(x509.DNSName)), {
        str(ip) for ip in alt.get_values_for_type(x509.IPAddress)
    }


def test_certificate_names_this_machine_and_is_made_once(tmp_path):
    files = ensure_certificate(tmp_path)
    names, ips = _alt_names(files.cert)
    assert {"localhost", socket.gethostname()} <= names
    assert "127.0.0.1" in ips
    assert files.key.stat().st_mode & 0o077 == 0  # the key is the owner's alone
    first = files.cert.read_bytes()
    assert ensure_certificate(tmp_path).cert.read_bytes() == first  # reused next time

    # A new LAN address (the machine moved networks) is not in it: made again, with it.
    again = ensure_certificate(tmp_path, names=["localhost"], ips=["127.0.0.1", "10.20.30.40"])
    assert again.cert.read_bytes() != first
    assert "10.20.30.40" in _alt_names(again.cert)[1]
    second = again.cert.read_bytes()
    # Near its end it is renewed too.
    later = datetime.now(UTC) + VALIDITY - RENEW_BEFORE + timedelta(days=1)
    renewed = ensure_certificate(tmp_path, names=["localhost"], ips=["127.0.0.1"], now=later)
    assert renewed.cert.read_bytes() != second


async def _hello(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"plantops"})


def test_api_https_serves_a_handshake_the_certificate_verifies(tmp_path, monkeypatch):
    captured: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: captured.update(options))
    settings = Settings(
        data_dir=tmp_path, database_url="postgresql://unused", temporal_address="unused:1",
        api_workers=1,
    )  # fmt: skip
    cli.cmd_api(settings, argparse.Namespace(https=True))
    assert captured["ssl_certfile"].startswith(str(tmp_path))

    # The options `plantops api --https` gave uvicorn, on a real socket.
    port = free_port()
    config = uvicorn.Config(
        _hello, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
        ssl_certfile=captured["ssl_certfile"], ssl_keyfile=captured["ssl_keyfile"],
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        trust = ssl.create_default_context(cafile=captured["ssl_certfile"])
        for name in ("localhost", "127.0.0.1"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                with trust.wrap_socket(raw, server_hostname=name) as tls:
                    tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    answer = b""
                    while chunk := tls.recv(4096):
                        answer += chunk
            assert answer.startswith(b"HTTP/1.1 200") and b"plantops" in answer
    finally:
        server.should_exit = True
        thread.join(10)


def test_up_https_opens_the_api_to_the_site_network(tmp_path, monkeypatch):
    monkeypatch.delenv("PLANTOPS_API_HOST", raising=False)
    monkeypatch.setattr("api.tls.lan_addresses", lambda: ["192.0.2.7"])
    env: dict[str, str] = {}
    urls = cli.https_addresses(Settings(data_dir=tmp_path, api_port=8443), env)
    assert urls == ["https://192.0.2.7:8443", "https://localhost:8443"]
    assert env == {"PLANTOPS_API_HOST": "0.0.0.0", "PLANTOPS_PUBLIC_URL": urls[0]}
    assert (tmp_path / "https-cert.pem").exists()
