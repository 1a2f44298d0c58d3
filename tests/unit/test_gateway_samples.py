import cv2
import numpy as np
import pytest

from framewire.core.errors import ConfigError
from framewire.samples import make_samples, pan_zoom_frame, parse_size, triangle

pytestmark = pytest.mark.unit


def test_samples_are_moving_clips_and_an_image_folder(tmp_path):
    # Given a small sample set
    # When it is generated
    paths = make_samples(tmp_path, width=160, height=120, fps=10, seconds=1.0, folder_frames=2)
    clips, folder = paths[:-1], paths[-1]
    # Then there is one readable clip per photo at the asked size, rate and length
    assert [p.name.split("-")[0] for p in clips] == ["astronaut", "chelsea", "coffee"]
    for clip in clips:
        cap = cv2.VideoCapture(str(clip))
        frames = [cap.read()[1] for _ in range(10)]
        assert cap.get(cv2.CAP_PROP_FPS) == 10
        assert all(f is not None and f.shape == (120, 160, 3) for f in frames)
        # And the picture moves: the middle frame differs clearly from the first
        diff = np.abs(frames[0].astype(int) - frames[5].astype(int)).mean()
        assert diff > 5
    # And the folder holds two views of each photo in playback order
    assert sorted(p.name for p in folder.iterdir()) == [f"frame_{i:05d}.jpg" for i in range(6)]


def test_existing_samples_are_reused(tmp_path):
    # Given samples made once
    first = make_samples(tmp_path, width=64, height=48, fps=5, seconds=1.0, names=("coffee",))
    stamp = first[0].stat().st_mtime_ns
    # When asked again with the same parameters
    second = make_samples(tmp_path, width=64, height=48, fps=5, seconds=1.0, names=("coffee",))
    # Then the same files come back untouched
    assert second == first and first[0].stat().st_mtime_ns == stamp


def test_motion_loops_back_to_the_start():
    # Given the pan/zoom phase of a clip of 30 frames
    phases = [triangle(i, 30) for i in range(31)]
    # When it is followed over one loop
    # Then it rises to 1 halfway and returns to where it began
    assert phases[0] == phases[30] == 0.0 and phases[15] == 1.0
    photo = np.zeros((100, 200, 3), np.uint8)
    assert pan_zoom_frame(photo, 0.5, 64, 48).shape == (48, 64, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 8}, "sample size"),
        ({"fps": 0}, "sample fps"),
        ({"names": ("moon",)}, "unknown sample photo"),
    ],
)
def test_bad_sample_parameters_are_explained(tmp_path, kwargs, message):
    # Given a bad parameter
    # When samples are asked for
    # Then the error says which
    with pytest.raises(ConfigError, match=message):
        make_samples(tmp_path, **kwargs)
    with pytest.raises(ConfigError, match="WIDTHxHEIGHT"):
        parse_size("640by480")
