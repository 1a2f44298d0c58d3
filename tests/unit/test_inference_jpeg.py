"""JPEG checks: sizes read from the header, refusals with a reason, reduced-size decode."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from framewire.inference.records import RejectKind
from framewire.models.perframe.jpeg import (
    JpegLimits,
    JpegRejected,
    check_jpeg,
    decode_jpeg,
    jpeg_size,
    reduction_factor,
)
from support.inference import jpeg_of

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def chelsea_jpeg() -> bytes:
    return jpeg_of(np.ascontiguousarray(skimage.data.chelsea()[:, :, ::-1]))


def _with_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its start-of-frame header claiming another size."""
    at = jpeg.index(b"\xff\xc0")
    patched = bytearray(jpeg)
    patched[at + 5 : at + 7] = height.to_bytes(2, "big")
    patched[at + 7 : at + 9] = width.to_bytes(2, "big")
    return bytes(patched)


def test_size_is_read_from_the_header(chelsea_jpeg: bytes) -> None:
    # Given a JPEG of scikit-image's 451x300 cat photo
    # When its header is read
    # Then the size is the photo's
    assert jpeg_size(chelsea_jpeg) == (451, 300)
    assert check_jpeg(chelsea_jpeg, JpegLimits()) == (451, 300)


@pytest.mark.parametrize(
    ("mutate", "kind"),
    [
        (lambda j: b"", RejectKind.CORRUPT_JPEG),
        (lambda j: b"GIF89a" + j, RejectKind.CORRUPT_JPEG),
        (lambda j: j[: len(j) // 2], RejectKind.CORRUPT_JPEG),
        (lambda j: j[:2] + b"\x00" * 64, RejectKind.CORRUPT_JPEG),
        (lambda j: _with_size(j, 60000, 300), RejectKind.ABSURD_SIZE),
        (lambda j: _with_size(j, 0, 300), RejectKind.ABSURD_SIZE),
    ],
    ids=["empty", "not-jpeg", "truncated", "no-frame-header", "huge", "zero-width"],
)
def test_unusable_jpegs_are_refused_with_their_kind(chelsea_jpeg, mutate, kind) -> None:
    # Given a damaged JPEG
    data = mutate(chelsea_jpeg)
    # When checked / Then it is refused for the expected reason, before any decoding
    with pytest.raises(JpegRejected) as caught:
        check_jpeg(data, JpegLimits(max_side=8192))
    assert caught.value.kind is kind


def test_byte_limit_is_enforced(chelsea_jpeg: bytes) -> None:
    # Given a limit below the image's size / When checked / Then refused as absurd
    with pytest.raises(JpegRejected) as caught:
        check_jpeg(chelsea_jpeg, JpegLimits(max_bytes=len(chelsea_jpeg) - 1))
    assert caught.value.kind is RejectKind.ABSURD_SIZE


@pytest.mark.parametrize(
    ("size", "target", "factor"),
    [((1920, 1080), (300, 300), 2), ((2560, 2560), (300, 300), 8), ((640, 480), (300, 300), 1),
     ((1280, 720), (320, 320), 2), ((300, 300), (300, 300), 1)],
)
def test_reduction_keeps_at_least_the_model_input(size, target, factor) -> None:
    # Given a frame and a model input size / When the reduction is chosen
    chosen = reduction_factor(*size, *target)
    # Then it is the largest power of two not going below the input
    assert chosen == factor
    assert size[0] // chosen >= target[0] and size[1] // chosen >= target[1]


@pytest.mark.parametrize("factor", [1, 2, 4, 8])
def test_reduced_decode_has_the_scaled_size(factor: int) -> None:
    # Given a 512x512 photo as JPEG
    jpeg = jpeg_of(np.ascontiguousarray(skimage.data.astronaut()[:, :, ::-1]))
    # When decoded at 1/factor
    image = decode_jpeg(jpeg, 512, 512, factor)
    # Then the image is 512/factor per side, BGR
    assert image.shape == (512 // factor, 512 // factor, 3)
