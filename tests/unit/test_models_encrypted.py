"""Encrypted models: the file format, and a round trip through a local HTTPS key broker
whose CA this test creates."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from framewire.core.errors import ModelError
from framewire.models.catalog import build_catalog
from framewire.models.crypto import decrypt_model, encrypt_model, new_key, read_header
from framewire.models.encrypt import encrypt_for_serving
from framewire.models.keys import parse_key
from framewire.models.loader import load_from_server
from framewire.models.server import ModelServer
from support.models import fetch_zoo, photo_bgr

pytestmark = pytest.mark.unit

MODEL = "blazeface-short"
TOKEN = "broker-token-123"


def test_round_trip_and_header() -> None:
    key = new_key()
    blob = encrypt_model(b"model bytes" * 100, key, key_id="k1", model_format="tflite")
    header, plain = decrypt_model(blob, key)
    assert plain == b"model bytes" * 100
    assert (header.key_id, header.format, header.plain_size) == ("k1", "tflite", 1100)
    assert b"model bytes" not in blob


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "wrong key or the file was altered"),
        (lambda b: b.replace(b'"k1"', b'"k2"'), "wrong key or the file was altered"),
        (lambda b: b[: len(b) // 2], "truncated"),
        (lambda b: b"GIF89a" + b[6:], "bad magic"),
        (lambda b: b[:7] + b"\x02" + b[8:], "version 2 is not supported"),
    ],
)
def test_any_damage_is_refused(damage, error: str) -> None:
    # Given an encrypted model altered in one way (tag, authenticated header, length, magic)
    key = new_key()
    blob = damage(encrypt_model(b"x" * 1000, key, key_id="k1", model_format="tflite"))
    # When decrypted; then it is refused with a reason
    with pytest.raises(ModelError, match=error):
        decrypt_model(blob, key)


def test_wrong_key_is_refused() -> None:
    blob = encrypt_model(b"x" * 10, new_key(), key_id="k1", model_format="tflite")
    with pytest.raises(ModelError, match="wrong key"):
        decrypt_model(blob, new_key())


def test_keys_parse_from_hex_base64_and_raw() -> None:
    import base64

    key = new_key()
    assert parse_key(key.hex() + "\n", "k") == key
    assert parse_key(base64.b64encode(key).decode(), "k") == key
    assert parse_key(key, "k") == key
    with pytest.raises(ModelError, match="not a 256-bit key"):
        parse_key("abcd", "k")


@dataclass(frozen=True)
class Pki:
    ca_pem: Path
    server_cert: Path
    server_key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pki(directory: Path) -> Pki:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("fw test CA"))
        .issuer_name(_name("fw test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(san, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    pki.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.server_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return pki


class KeyBrokerStub:
    """A minimal key broker: HTTPS, bearer token, ``GET /keys/{id}`` -> {"key": base64}."""

    def __init__(self, pki: Pki, keys: dict[str, bytes], *, tls: bool = True) -> None:
        import base64

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                key_id = self.path.removeprefix("/keys/")
                ok = self.headers.get("Authorization") == f"Bearer {TOKEN}" and key_id in keys
                body = json.dumps(
                    {"key_id": key_id, "key": base64.b64encode(keys[key_id]).decode()}
                    if ok
                    else {"error": "no"}
                ).encode()
                self.send_response(200 if ok else 403)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(pki.server_cert, pki.server_key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModelServer, bytes]]:
    """The operator's side: encrypt a zoo model with a new key and serve the directory."""
    out = tmp_path_factory.mktemp("served")
    key_path = out.parent / "model.key"
    encrypt_for_serving(MODEL, out, cache_dir=fetch_zoo(), generate_key=key_path, key_id="face-key")
    server = ModelServer(build_catalog(fetch_zoo(), out, zoo=False)).start()
    yield server, parse_key(key_path.read_text(), "test key")
    server.stop()


@pytest.fixture
def broker_env(monkeypatch: pytest.MonkeyPatch, pki: Pki) -> pytest.MonkeyPatch:
    for name in ("FW_MODELS_KEY", "FW_MODELS_KEY_FILE", "FW_MODELS_KEY_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FW_MODELS_KEY_BROKER_CA", str(pki.ca_pem))
    monkeypatch.setenv("FW_MODELS_KEY_BROKER_TOKEN", TOKEN)
    return monkeypatch


def test_encrypted_round_trip_through_an_https_key_broker(
    encrypted: tuple[ModelServer, bytes],
    pki: Pki,
    broker_env: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Given the encrypted model on the model server and its key on an HTTPS key broker
    server, key = encrypted
    broker = KeyBrokerStub(pki, {"face-key": key})
    broker_env.setenv("FW_MODELS_KEY_BROKER_URL", broker.url)
    try:
        # When a service loads it
        detector = load_from_server(server.info_url, MODEL, cache_dir=tmp_path)
    finally:
        broker.stop()
    # Then it works, and no compiled blob (which would hold the weights) was cached
    assert [d.label for d in detector.detect(photo_bgr("astronaut"))] == ["face"]
    assert list(tmp_path.iterdir()) == []


def test_served_file_is_not_the_plaintext(encrypted: tuple[ModelServer, bytes]) -> None:
    import httpx

    server, _ = encrypted
    info = httpx.get(f"{server.info_url}/{MODEL}").json()
    blob = httpx.get(info["url"]).content
    assert info["encrypted"] is True
    assert read_header(blob)[0].key_id == "face-key"
    assert (fetch_zoo() / MODEL / "face_detection_short_range.tflite").read_bytes()[:64] not in blob


def test_wrong_key_from_the_broker_is_refused(
    encrypted: tuple[ModelServer, bytes], pki: Pki, broker_env: pytest.MonkeyPatch
) -> None:
    server, _ = encrypted
    broker = KeyBrokerStub(pki, {"face-key": new_key()})
    broker_env.setenv("FW_MODELS_KEY_BROKER_URL", broker.url)
    try:
        with pytest.raises(ModelError, match="wrong key"):
            load_from_server(server.info_url, MODEL)
    finally:
        broker.stop()


def test_key_broker_over_plain_http_is_refused(
    encrypted: tuple[ModelServer, bytes], pki: Pki, broker_env: pytest.MonkeyPatch
) -> None:
    # Given a broker without TLS that would happily hand out the right key
    server, key = encrypted
    broker = KeyBrokerStub(pki, {"face-key": key}, tls=False)
    broker_env.setenv("FW_MODELS_KEY_BROKER_URL", broker.url)
    try:
        # Then the loader refuses to ask it at all
        with pytest.raises(ModelError, match="only fetched over https"):
            load_from_server(server.info_url, MODEL)
    finally:
        broker.stop()


def test_untrusted_broker_certificate_is_refused(
    encrypted: tuple[ModelServer, bytes],
    pki: Pki,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Given a broker whose certificate comes from a CA the client does not trust
    server, key = encrypted
    broker = KeyBrokerStub(pki, {"face-key": key})
    other_ca = make_pki(tmp_path).ca_pem
    monkeypatch.setenv("FW_MODELS_KEY_BROKER_URL", broker.url)
    monkeypatch.setenv("FW_MODELS_KEY_BROKER_CA", str(other_ca))
    monkeypatch.setenv("FW_MODELS_KEY_BROKER_TOKEN", TOKEN)
    try:
        with pytest.raises(ModelError, match="not trusted"):
            load_from_server(server.info_url, MODEL)
    finally:
        broker.stop()


def test_broker_refusal_and_missing_key_config(
    encrypted: tuple[ModelServer, bytes], pki: Pki, broker_env: pytest.MonkeyPatch
) -> None:
    server, key = encrypted
    broker = KeyBrokerStub(pki, {"face-key": key})
    broker_env.setenv("FW_MODELS_KEY_BROKER_URL", broker.url)
    broker_env.setenv("FW_MODELS_KEY_BROKER_TOKEN", "wrong-token")
    try:
        with pytest.raises(ModelError, match="refused key 'face-key': HTTP 403"):
            load_from_server(server.info_url, MODEL)
    finally:
        broker.stop()
    broker_env.delenv("FW_MODELS_KEY_BROKER_URL")
    with pytest.raises(ModelError, match="no key is configured"):
        load_from_server(server.info_url, MODEL)


def test_development_key_file(
    encrypted: tuple[ModelServer, bytes], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, key = encrypted
    (tmp_path / "dev.key").write_text(key.hex())
    monkeypatch.setenv("FW_MODELS_KEY_FILE", str(tmp_path / "dev.key"))
    assert load_from_server(server.info_url, MODEL).info.model_id == MODEL
