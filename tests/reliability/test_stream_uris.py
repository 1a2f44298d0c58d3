"""Stream URIs as an attacker would write them: unknown schemes, paths out of the media
roots (``..``, percent-encoding, symlinks, relative paths) and credentials that must never
come back, checked at both doors: the dashboard API and the gateway."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from framewire.core.config import KafkaSettings, load_settings
from framewire.core.errors import ConfigError, SourceError
from framewire.core.media import SOURCE_SCHEMES, check_local_media, parse_roots
from framewire.dashboard.app import create_app
from framewire.dashboard.settings import DashboardSettings
from framewire.gateway.settings import GatewaySettings
from framewire.gateway.sources import SOURCES, make_source
from framewire.gateway.sources.base import CorruptFrameError, SourceOptions
from framewire.gateway.spec import config_from_spec
from framewire.v1.stream_pb2 import StreamSpec

pytestmark = pytest.mark.reliability

PASSWORD = "hunter2-rtsp-pw"


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """An allowed root holding a video, a folder of images, and a secret file beside it."""
    root = tmp_path / "media"
    (root / "frames").mkdir(parents=True)
    (root / "clip.mp4").write_bytes(b"not really a video")
    ok, jpeg = cv2.imencode(".jpg", np.full((8, 8, 3), 120, np.uint8))
    assert ok
    (root / "frames" / "a.jpg").write_bytes(jpeg.tobytes())
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "key.jpg").write_bytes(jpeg.tobytes())
    return root


def outside_uris(root: Path) -> list[str]:
    """Ways of naming a file outside ``root`` while starting inside it."""
    (root / "link-out").symlink_to(root.parent / "secret")
    return [
        f"file://{root}/../secret/key.jpg",
        f"file://{root}/%2e%2e/secret/key.jpg",
        f"dir://{root}/../secret",
        f"dir://{root}/link-out",
        f"{root}/link-out/key.jpg",
        "/etc/passwd",
        "file:///etc/shadow",
        "dir:///proc/self",
        "clip.mp4",
        "file://relative/clip.mp4",
        f"file://{root}/clip%00.mp4",
    ]


def test_paths_outside_the_media_roots_are_refused_however_they_are_written(media: Path) -> None:
    # Given one allowed media root
    roots = parse_roots(str(media))
    # When URIs escaping it are checked, then each is refused with a reason
    for uri in outside_uris(media):
        with pytest.raises(ConfigError, match=r"outside the allowed media roots|relative|usable"):
            check_local_media(uri, roots)
    # And paths inside it, and non-local sources, pass
    for uri in (f"file://{media}/clip.mp4", f"dir://{media}/frames?fps=5", f"{media}/./clip.mp4",
                f"file://{media}/frames/../clip.mp4", "rtsp://cam.local/live"):
        check_local_media(uri, roots)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(["..", ".", "frames", "%2e%2e", "", "x", "..%2f..", "a.jpg"]),
                max_size=8))
def test_any_accepted_path_resolves_inside_a_root(segments: list[str]) -> None:
    # Given a URI built from path segments that may climb out of the root
    root = Path(os.path.realpath("/usr/share"))
    uri = "file://" + str(root) + "/" + "/".join(segments)
    # When it is checked
    try:
        resolved = check_local_media(uri, (root,))
    except ConfigError:
        return
    # Then whatever is accepted really lies inside the root
    assert resolved is not None and resolved.is_relative_to(root), uri


def test_the_gateway_refuses_such_a_spec_and_names_the_stream(media: Path) -> None:
    # Given a gateway allowed to read only the media root
    settings = GatewaySettings(metrics_port=0, media_roots=(media,))
    # When specs point outside it, then each is an invalid spec for that stream
    for uri in outside_uris(media):
        with pytest.raises(ConfigError) as info:
            config_from_spec("cam1", StreamSpec(stream_id="cam1", source_uri=uri), settings)
        assert info.value.stream_id == "cam1"
    # And a spec inside it is accepted
    config_from_spec("cam1", StreamSpec(stream_id="cam1", source_uri=f"dir://{media}/frames"), settings)


def test_a_symlink_swapped_after_validation_is_refused_when_the_source_opens(media: Path) -> None:
    # Given a validated folder source inside the root, and an image in it linking outside
    options = SourceOptions(media_roots=(media,))
    source = make_source(f"dir://{media}/frames", options)
    (media / "frames" / "b.jpg").symlink_to(media.parent / "secret" / "key.jpg")
    # When the folder is opened and played, then the linked image is refused like a bad one
    source.open()
    assert source.grab()
    source.retrieve()
    assert source.grab()
    with pytest.raises(CorruptFrameError, match="outside the allowed media roots"):
        source.retrieve()
    source.close()
    # And when the folder itself is swapped for a link outside, opening fails with the reason
    (media / "frames" / "a.jpg").unlink()
    (media / "frames" / "b.jpg").unlink()
    (media / "frames").rmdir()
    (media / "frames").symlink_to(media.parent / "secret")
    with pytest.raises(SourceError, match="outside the allowed media roots"):
        make_source(f"dir://{media}/frames", options).open()


@pytest.fixture
def api(media: Path) -> Iterator[TestClient]:
    settings = DashboardSettings(kafka=KafkaSettings(), media_roots=(media,))
    with TestClient(create_app(settings, with_kafka=False)) as client:
        yield client


def test_the_api_refuses_paths_outside_the_media_roots_before_writing(api: TestClient,
                                                                      media: Path) -> None:
    # Given a dashboard with one media root (and no Kafka: a write that passes answers 503)
    for uri in outside_uris(media):
        # When a stream is created with a path outside it
        response = api.post("/api/streams", json={"stream_id": "cam1", "source_uri": uri})
        # Then it is refused with 422 saying why
        assert response.status_code == 422, (uri, response.text)
    inside = api.post("/api/streams", json={"stream_id": "cam1", "source_uri": f"{media}/clip.mp4"})
    assert inside.status_code == 503, inside.text


@pytest.mark.parametrize("uri", [
    f"ftp://admin:{PASSWORD}@cam/x.mp4", f"gopher://admin:{PASSWORD}@cam/x",
    "javascript:alert(1)", "data:video/mp4;base64,AAAA", f"rtsps://admin:{PASSWORD}@cam/live",
    f"smb://admin:{PASSWORD}@nas/share/a.mp4",
])
def test_unknown_schemes_are_refused_at_both_doors_without_echoing_credentials(
    api: TestClient, uri: str
) -> None:
    # Given a URI of a kind no gateway can read, possibly carrying a password
    # When the API is asked to create it
    response = api.post("/api/streams", json={"stream_id": "cam1", "source_uri": uri})
    # Then it is a 422 naming the scheme, and the password is not in the answer
    assert response.status_code == 422 and "is not supported" in response.text
    assert PASSWORD not in response.text
    # And a gateway given the same spec directly refuses it too, without the password
    with pytest.raises(ConfigError) as info:
        config_from_spec("cam1", StreamSpec(source_uri=uri), GatewaySettings(metrics_port=0))
    assert PASSWORD not in str(info.value)


def test_what_the_api_accepts_the_gateway_can_serve() -> None:
    # The API's scheme list and the gateway's source registry name the same kinds
    assert set(SOURCE_SCHEMES) == set(SOURCES)


def test_media_roots_come_from_the_environment_and_must_be_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given two roots in FW_GATEWAY_MEDIA_ROOTS / FW_DASHBOARD_MEDIA_ROOTS
    monkeypatch.setenv("FW_GATEWAY_MEDIA_ROOTS", f"{tmp_path}/a, {tmp_path}/b")
    monkeypatch.setenv("FW_DASHBOARD_MEDIA_ROOTS", f"{tmp_path}/a")
    # Then both services read them
    assert load_settings(GatewaySettings).media_roots == (tmp_path / "a", tmp_path / "b")
    assert load_settings(DashboardSettings).media_roots == (tmp_path / "a",)
    # And a relative root is a clear configuration error
    monkeypatch.setenv("FW_GATEWAY_MEDIA_ROOTS", "media")
    with pytest.raises(ConfigError, match="must be an absolute path"):
        load_settings(GatewaySettings)
