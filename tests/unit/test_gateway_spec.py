import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framewire.core.errors import ConfigError
from framewire.gateway.settings import GatewaySettings, RtspTransport
from framewire.gateway.spec import config_from_spec, output_size
from framewire.v1.stream_pb2 import StreamSpec

pytestmark = pytest.mark.unit

SETTINGS = GatewaySettings(metrics_port=0, jpeg_quality=70, max_fps=60)


def spec(**fields) -> StreamSpec:
    base = {"stream_id": "cam1", "source_uri": "/videos/a.mp4", "target_fps": 10, "enabled": True}
    return StreamSpec(**{**base, **fields})


def test_a_valid_spec_becomes_a_config_with_defaults_filled_in():
    # Given a spec without JPEG quality and with loop set
    # When it is validated
    config = config_from_spec("cam1", spec(loop=True, width=320), SETTINGS)
    # Then the gateway default quality and the spec's values are used
    assert (config.target_fps, config.width, config.height, config.jpeg_quality) == (10, 320, 0, 70)
    assert config.source_options.loop is True
    assert config.source_options.rtsp_transport is RtspTransport.TCP


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"target_fps": -1}, "target_fps -1"),
        ({"target_fps": math.nan}, "target_fps nan"),
        ({"target_fps": 61}, "between 0 (source rate) and 60"),
        ({"width": 10_000}, "width 10000 is larger"),
        ({"height": 9000}, "height 9000 is larger"),
        ({"jpeg_quality": 101}, "jpeg_quality 101"),
        ({"source_uri": ""}, "source URI is empty"),
        ({"source_uri": "ftp://host/x.mp4"}, "unknown source scheme 'ftp'"),
        ({"source_uri": "rtsp:///nohost"}, "has no host"),
        ({"source_uri": "rtsp://cam/x?rtsp_transport=sctp"}, "must be tcp or udp"),
        ({"source_uri": "http://[::1"}, "not a valid URI"),
        ({"source_uri": "dir:///frames?fps=abc"}, "fps='abc'"),
        ({"source_uri": "file:///a.mp4?speed=2"}, "unknown file source parameter"),
        ({"source_uri": "v4l2://front"}, "must be /dev/videoN"),
        ({"stream_id": "other"}, "keyed 'cam1'"),
    ],
)
def test_invalid_specs_are_refused_with_the_stream_and_the_reason(fields, message):
    # Given a spec with one bad field
    # When it is validated
    with pytest.raises(ConfigError) as info:
        config_from_spec("cam1", spec(**fields), SETTINGS)
    # Then the error names the problem and the stream
    assert message in str(info.value)
    assert info.value.stream_id == "cam1"


def test_an_illegal_stream_id_key_is_refused():
    # Given a registry key that cannot name a topic
    # When its spec is validated
    # Then a clear error says so
    with pytest.raises(ConfigError, match="stream id"):
        config_from_spec("bad.id", spec(stream_id=""), SETTINGS)


def test_credentials_never_show_in_the_config_repr_or_label():
    # Given an RTSP source with a password
    config = config_from_spec("cam1", spec(source_uri="rtsp://admin:s3cr3t@cam/live"), SETTINGS)
    # When it is printed or labelled
    # Then the password appears in neither
    assert "s3cr3t" not in repr(config)
    assert "s3cr3t" not in config.source_label
    assert config.source_label == "rtsp://***@cam/live"


@pytest.mark.parametrize(
    ("src", "want", "expected"),
    [
        ((640, 480), (0, 0), (640, 480)),
        ((640, 480), (320, 0), (320, 240)),
        ((640, 480), (0, 120), (160, 120)),
        ((1920, 1080), (640, 640), (640, 360)),
        ((480, 640), (640, 480), (360, 480)),
        ((320, 240), (640, 0), (640, 480)),
    ],
)
def test_output_size_keeps_the_aspect_ratio(src, want, expected):
    # Given a source size and a wanted box
    # When the output size is computed
    # Then it fits the box with the source's aspect ratio
    assert output_size(*src, *want) == expected


@given(
    st.integers(16, 4096), st.integers(16, 4096), st.integers(0, 4096), st.integers(0, 4096)
)
def test_output_size_fits_the_box_and_keeps_the_aspect(src_w, src_h, want_w, want_h):
    # Given any source size and box
    # When the output size is computed
    out_w, out_h = output_size(src_w, src_h, want_w, want_h)
    # Then it fits inside the box (where constrained) and the aspect is kept to rounding
    assert want_w == 0 or out_w <= want_w
    assert want_h == 0 or out_h <= want_h
    # (a side that would round to 0 pixels is 1, and no aspect can be kept at that size)
    if min(out_w, out_h) > 1:
        assert abs(out_w / out_h - src_w / src_h) <= (src_w / src_h) * (1 / out_h + 1 / out_w) + 1e-9
    assert min(out_w, out_h) >= 1
