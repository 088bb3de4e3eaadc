"""A self-signed certificate for serving the app over HTTPS on the site network: a phone
gives the camera, the location and offline pages only to a secure origin.

Written once under the data folder and reused; made again only when it no longer names
one of this machine's names or addresses (a new LAN address) or is about to expire."""

import fcntl
import ipaddress
import socket
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Phones refuse a trusted certificate valid longer than 825 days.
VALIDITY = timedelta(days=825)
RENEW_BEFORE = timedelta(days=30)
_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


@dataclass(frozen=True)
class CertificateFiles:
    cert: Path
    key: Path


def _interface_addresses() -> set[str]:
    """The IPv4 address of each network interface (Linux), read locally: nothing is sent."""
    found: set[str] = set()
    try:
        interfaces = socket.if_nameindex()
    except OSError:
        return found
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in interfaces:
            try:
                packed = fcntl.ioctl(
                    probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name[:15].encode())
                )
            except OSError:  # no IPv4 address on this interface
                continue
            found.add(socket.inet_ntoa(packed[20:24]))
    return found


def machine_names() -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the certificate names: localhost, this machine's host
    name, 127.0.0.1 and its LAN addresses."""
    host = socket.gethostname()
    names = ["localhost"]
    for name in (host, socket.getfqdn()):
        if name and name not in names and not _is_ip(name):
            names.append(name)
    addresses = {"127.0.0.1"} | _interface_addresses()
    try:
        addresses |= {info[4][0] for info in socket.getaddrinfo(host, None, socket.AF_INET)}
    except OSError:
        pass
    ips = sorted(addresses, key=lambda a: (a != "127.0.0.1", ipaddress.ip_address(a)))
    return names, ips


def lan_addresses() -> list[str]:
    """The addresses a phone on the site network can reach (loopback left out)."""
    return [ip for ip in machine_names()[1] if not ipaddress.ip_address(ip).is_loopback]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _covers(cert: x509.Certificate, names: list[str], ips: list[str], now: datetime) -> bool:
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have_names = set(alt.get_values_for_type(x509.DNSName))
    have_ips = {str(ip) for ip in alt.get_values_for_type(x509.IPAddress)}
    fresh = cert.not_valid_after_utc - now > RENEW_BEFORE
    return fresh and set(names) <= have_names and set(ips) <= have_ips


def make_certificate(names: list[str], ips: list[str], now: datetime) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for these names, self-signed. It is its own
    authority so that a phone can be told to trust it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "plantops"),
            x509.NameAttribute(NameOID.COMMON_NAME, names[1] if len(names) > 1 else names[0]),
        ]
    )
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def ensure_certificate(
    folder: Path,
    *,
    names: list[str] | None = None,
    ips: list[str] | None = None,
    now: datetime | None = None,
) -> CertificateFiles:
    """The certificate and key under `folder`, made when missing or no longer right."""
    if names is None or ips is None:
        found_names, found_ips = machine_names()
        names, ips = names or found_names, ips or found_ips
    now = now or datetime.now(UTC)
    files = CertificateFiles(folder / "https-cert.pem", folder / "https-key.pem")
    if files.cert.exists() and files.key.exists():
        try:
            current = x509.load_pem_x509_certificate(files.cert.read_bytes())
        except ValueError:
            current = None
        if current is not None and _covers(current, names, ips, now):
            return files
    cert_pem, key_pem = make_certificate(names, ips, now)
    folder.mkdir(parents=True, exist_ok=True)
    files.key.touch(mode=0o600)
    files.key.chmod(0o600)
    files.key.write_bytes(key_pem)
    files.cert.write_bytes(cert_pem)
    return files
