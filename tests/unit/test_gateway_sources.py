import io

import cv2
import numpy as np
import pytest

from framewire.core.errors import ConfigError, SourceError
from framewire.gateway.settings import RtspTransport
from framewire.gateway.sources import make_source, scheme_of
from framewire.gateway.sources.base import CorruptFrameError, SourceOptions
from framewire.gateway.sources.image_folder import ImageFolderSource
from framewire.gateway.sources.mjpeg import MjpegSource
from framewire.gateway.sources.multipart import MultipartReader, boundary_of
from framewire.gateway.sources.rtsp import RtspSource
from framewire.gateway.sources.v4l2 import V4l2Source
from framewire.gateway.sources.video_file import VideoFileSource
from framewire.samples import make_samples

pytestmark = pytest.mark.unit

OPTIONS = SourceOptions(open_timeout_s=2, read_timeout_s=2)


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("/videos/a.mp4", VideoFileSource),
        ("relative/a.mp4", VideoFileSource),
        ("file:///videos/a.mp4", VideoFileSource),
        ("dir:///frames", ImageFolderSource),
        ("rtsp://cam.local:554/live", RtspSource),
        ("http://cam.local/mjpeg", MjpegSource),
        ("https://cam.local/mjpeg", MjpegSource),
        ("/dev/video0", V4l2Source),
        ("v4l2://2", V4l2Source),
    ],
)
def test_the_registry_picks_the_source_by_scheme(uri, kind):
    # Given a URI of each supported kind
    # When a source is made for it
    # Then it is the registered class, not yet opened
    assert type(make_source(uri, OPTIONS)) is kind


def test_unknown_schemes_name_the_known_ones():
    # Given a scheme nobody registered
    # When a source is made
    # Then the error lists what is supported
    with pytest.raises(ConfigError, match="known: dir, file, http, https, rtsp, v4l2"):
        make_source("gopher://x/y", OPTIONS)
    assert scheme_of("C:/videos/a.mp4") == "file"


def test_rtsp_transport_comes_from_the_uri_or_the_default_and_is_not_sent():
    # Given RTSP URIs with and without a transport parameter
    udp = make_source("rtsp://u:pw@cam/live?rtsp_transport=udp&x=1", OPTIONS)
    default = make_source("rtsp://cam/live", OPTIONS)
    # When their transport and target are read
    # Then the parameter chose UDP, was removed from the URI, and the password is hidden
    assert udp.transport is RtspTransport.UDP and default.transport is RtspTransport.TCP
    assert udp._target() == "rtsp://u:pw@cam/live?x=1"
    assert "pw" not in udp.label and "pw" not in repr(udp)
    assert udp._ffmpeg_options() == {"rtsp_transport": "udp"}


def test_v4l2_device_index_from_either_form():
    # Given the two V4L2 spellings
    # When sources are made
    # Then both address the same device index
    assert make_source("/dev/video3", OPTIONS).index == 3
    assert make_source("v4l2:///dev/video3", OPTIONS).index == 3


def test_a_missing_video_file_fails_with_a_clear_reason(tmp_path):
    # Given a path that does not exist and a file that is not a video
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    # When they are opened
    # Then each says why
    with pytest.raises(SourceError, match="no such file"):
        make_source(str(tmp_path / "nope.mp4"), OPTIONS).open()
    with pytest.raises(SourceError, match="not a video OpenCV can decode"):
        make_source(str(junk), OPTIONS).open()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_samples(tmp_path_factory.mktemp("s"), width=96, height=64, fps=10, seconds=1.0,
                        names=("coffee",), folder_frames=3)


def test_a_video_file_reports_its_rate_and_size_and_loops(clip):
    # Given a 10-frame clip opened with looping
    source = make_source(str(clip[0]), SourceOptions(loop=True))
    info = source.open()
    # When 25 frames are read
    frames = [source.grab() and source.retrieve() for _ in range(25)]
    source.close()
    # Then it reports its native rate and size and keeps going past its end
    assert (info.fps, info.width, info.height, info.self_paced) == (10.0, 96, 64, False)
    assert all(f.shape == (64, 96, 3) for f in frames)


def test_a_video_file_without_loop_ends(clip):
    # Given the same clip without looping, read flat out
    source = make_source(f"file://{clip[0]}?realtime=0", OPTIONS)
    info = source.open()
    # When it is read to the end
    count = 0
    while source.grab():
        count += 1
    # Then exactly its frames were read and it asks not to be paced
    assert count == 10
    assert info.self_paced and info.can_wait


def test_an_image_folder_plays_sorted_skips_corrupt_images_and_loops(tmp_path):
    # Given a folder with three images (one corrupt) and a stray text file
    for name, value in (("b.png", 200), ("a.png", 100)):
        cv2.imwrite(str(tmp_path / name), np.full((8, 12, 3), value, np.uint8))
    (tmp_path / "c.jpg").write_bytes(b"\xff\xd8 broken")
    (tmp_path / "notes.txt").write_text("not an image")
    source = make_source(f"dir://{tmp_path}?fps=4", SourceOptions(loop=True))
    # When it is opened and read twice round
    info = source.open()
    values = []
    for _ in range(6):
        assert source.grab()
        try:
            values.append(int(source.retrieve()[0, 0, 0]))
        except CorruptFrameError:
            values.append(None)
    # Then it reports its rate and size, plays in name order and loops
    assert (info.fps, info.width, info.height) == (4.0, 12, 8)
    assert values == [100, 200, None, 100, 200, None]


def test_an_empty_or_missing_folder_fails_with_the_reason(tmp_path):
    # Given an empty folder and a missing one
    # When they are opened
    # Then the reason is given
    with pytest.raises(SourceError, match="no images"):
        make_source(f"dir://{tmp_path}", OPTIONS).open()
    with pytest.raises(SourceError, match="no such folder"):
        make_source(f"dir://{tmp_path}/missing", OPTIONS).open()


def jpeg(value: int) -> bytes:
    return cv2.imencode(".jpg", np.full((4, 6, 3), value, np.uint8))[1].tobytes()


def test_multipart_parts_are_read_with_or_without_content_length():
    # Given a stream with one part with Content-Length and one without
    a, b = jpeg(10), jpeg(240)
    body = (
        b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " + str(len(a)).encode()
        + b"\r\n\r\n" + a + b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n" + b
        + b"\r\n--frame\r\n\r\n"
    )
    reader = MultipartReader(io.BytesIO(body), boundary_of('multipart/x-mixed-replace;boundary="frame"'))
    # When two parts are read
    # Then each body is exactly the JPEG sent
    assert reader.next_part() == a
    assert reader.next_part() == b


def test_multipart_errors_are_bounded_and_explained():
    # Given a stream that ends mid-part, and one with a huge declared length
    truncated = b"--f\r\nContent-Length: 100\r\n\r\nshort"
    huge = b"--f\r\nContent-Length: 999999999\r\n\r\n"
    # When parts are read
    # Then each is an error saying what happened, without reading unboundedly
    with pytest.raises(SourceError, match="closed by the server mid-frame"):
        MultipartReader(io.BytesIO(truncated), b"f").next_part()
    with pytest.raises(SourceError, match="invalid or over"):
        MultipartReader(io.BytesIO(huge), b"f", max_part_bytes=1024).next_part()
    with pytest.raises(SourceError, match="no MJPEG part boundary"):
        MultipartReader(io.BytesIO(b"x" * 5000 + b"\n"), b"f", max_part_bytes=1024).next_part()
    with pytest.raises(SourceError, match="not an MJPEG stream"):
        boundary_of("text/html")
