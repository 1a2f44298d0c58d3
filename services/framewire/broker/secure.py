"""A SASL_SSL (SCRAM-SHA-512 over TLS) listener for the local broker.

Used by tests that prove every service connects through settings alone: a throwaway CA and
server certificate are made with ``cryptography``, SCRAM credentials are written at format
time (KRaft has no ZooKeeper to hold them), and the listener is added beside PLAINTEXT.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from framewire.broker.local import LocalBroker

MECHANISM = "SCRAM-SHA-512"
SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule required;"


@dataclass(frozen=True)
class SecureEndpoint:
    """How a client reaches the secure listener."""

    bootstrap: str
    ca_location: Path
    username: str
    password: str


def write_tls_material(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """Create a CA and a server certificate for ``host``; return (ca.pem, server.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "framewire test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path, server_path = folder / "ca.pem", folder / "server.pem"
    ca_path.write_bytes(ca.public_bytes(pem))
    server_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(pem)
    )
    return ca_path, server_path


def secure_broker(
    home: Path, port: int, controller_port: int, sasl_port: int, username: str, password: str
) -> tuple[LocalBroker, SecureEndpoint]:
    """A LocalBroker with PLAINTEXT on ``port`` and SASL_SSL on ``sasl_port``."""
    ca, server = write_tls_material(home / "tls")
    listener = "listener.name.sasl_ssl"
    config = {
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port},"
        f"SASL_SSL://127.0.0.1:{sasl_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port},SASL_SSL://127.0.0.1:{sasl_port}",
        "sasl.enabled.mechanisms": MECHANISM,
        f"{listener}.scram-sha-512.sasl.jaas.config": SCRAM_LOGIN,
        f"{listener}.ssl.keystore.type": "PEM",
        f"{listener}.ssl.keystore.location": str(server),
        f"{listener}.ssl.truststore.type": "PEM",
        f"{listener}.ssl.truststore.location": str(ca),
    }
    scram = f"{MECHANISM}=[name={username},password={password}]"
    broker = LocalBroker(
        home,
        port=port,
        controller_port=controller_port,
        heap="384m",
        extra_config=config,
        format_args=("--add-scram", scram),
    )
    return broker, SecureEndpoint(f"127.0.0.1:{sasl_port}", ca, username, password)
