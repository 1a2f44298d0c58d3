"""The gateway's RTSP source over TCP (interleaved RTP), its default transport.

ffmpeg cannot serve RTSP to players (5.1 here: its RTSP muxer only connects out, and
``-rtsp_flags listen`` exists only for input), and rtsp-server-perl speaks RTP over UDP only.
So this test serves RTSP itself: ffmpeg encodes a real clip to H.264 RTP packets on a local UDP
port, and a small RTSP server answers DESCRIBE with ffmpeg's SDP, accepts only a TCP-interleaved
SETUP (a UDP one gets 461 Unsupported Transport) and relays the RTP packets inside the RTSP
connection as ``$``-framed data. The client is the gateway's real source (OpenCV's FFmpeg).
"""

from __future__ import annotations

import re
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from framewire.core.errors import SourceError
from framewire.gateway.settings import RtspTransport
from framewire.gateway.sources import make_source
from framewire.gateway.sources.base import SourceOptions
from framewire.samples import load_photo, write_clip

pytestmark = pytest.mark.integration


class InterleavedRtspServer:
    """RTSP over TCP only, relaying one ffmpeg RTP stream to every playing client."""

    def __init__(self, video: Path) -> None:
        self._rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._rtp.bind(("127.0.0.1", 0))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.setups: list[str] = []  # the Transport header of each SETUP
        self._playing: list[socket.socket] = []
        self._lock = threading.Lock()
        self._sdp_path = video.with_suffix(".sdp")
        rtp_port = self._rtp.getsockname()[1]
        self._ffmpeg = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(video),
             "-an", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15",
             "-f", "rtp", "-sdp_file", str(self._sdp_path), f"rtp://127.0.0.1:{rtp_port}?pkt_size=1200"],
        )
        self._streaming = threading.Event()
        for target in (self._relay, self._accept):
            threading.Thread(target=target, daemon=True).start()

    def wait_streaming(self, timeout_s: float) -> None:
        """Until ffmpeg has written its SDP and sent RTP: a camera that is up."""
        if not self._streaming.wait(timeout_s) or not self._sdp_path.exists():
            raise RuntimeError(f"ffmpeg sent no RTP within {timeout_s}s (exit {self._ffmpeg.poll()})")

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def close(self) -> None:
        self._ffmpeg.kill()
        self._ffmpeg.wait(5)
        self._listener.close()
        self._rtp.close()

    def _sdp(self) -> bytes:
        text = self._sdp_path.read_text()
        return (text.rstrip("\n") + "\na=control:track0\n").encode()

    def _relay(self) -> None:
        while True:
            try:
                packet = self._rtp.recv(65536)
            except OSError:
                return
            self._streaming.set()
            frame = b"$\x00" + struct.pack(">H", len(packet)) + packet
            with self._lock:
                for conn in list(self._playing):
                    try:
                        conn.sendall(frame)
                    except OSError:
                        self._playing.remove(conn)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            try:
                self._answer(conn, head.decode("latin-1"))
            except OSError:  # the client hung up (a refused transport, a closed source)
                return

    def _answer(self, conn: socket.socket, request: str) -> None:
        method = request.split(" ", 1)[0]
        headers = dict(line.split(":", 1) for line in request.split("\r\n")[1:] if ":" in line)
        fields = {k.strip().lower(): v.strip() for k, v in headers.items()}
        extra, body, status = [], b"", "200 OK"
        if method == "OPTIONS":
            extra.append("Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER")
        elif method == "DESCRIBE":
            extra += ["Content-Type: application/sdp", f"Content-Base: {self.url}/"]
            body = self._sdp()
        elif method == "SETUP":
            transport = fields.get("transport", "")
            self.setups.append(transport)
            if "RTP/AVP/TCP" not in transport:
                status = "461 Unsupported Transport"
            else:
                extra += ["Transport: RTP/AVP/TCP;unicast;interleaved=0-1", "Session: 4242;timeout=60"]
        elif method == "PLAY":
            extra.append("Session: 4242")
        lines = [f"RTSP/1.0 {status}", f"CSeq: {fields.get('cseq', '0')}", *extra,
                 f"Content-Length: {len(body)}"]
        with self._lock:
            conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            if method == "PLAY":
                self._playing.append(conn)


@pytest.fixture(scope="module")
def rtsp_tcp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InterleavedRtspServer]:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is not installed (Debian package ffmpeg)")
    video = tmp_path_factory.mktemp("rtsp") / "chelsea.mp4"
    write_clip(video, load_photo("chelsea"), 320, 240, 15, 60)
    server = InterleavedRtspServer(video)
    server.wait_streaming(20)
    yield server
    server.close()


def test_rtsp_source_reads_frames_over_tcp_by_default(rtsp_tcp: InterleavedRtspServer) -> None:
    # Given a camera that serves RTSP over TCP only, and the gateway's default options
    source = make_source(rtsp_tcp.url, SourceOptions(open_timeout_s=20, read_timeout_s=10))
    assert SourceOptions().rtsp_transport is RtspTransport.TCP
    # When the gateway's RTSP source opens it and reads 20 frames
    info = source.open()
    try:
        frames = []
        while len(frames) < 20:
            assert source.grab(), f"stream ended after {len(frames)} frames"
            frames.append(source.retrieve())
    finally:
        source.close()
    # Then they are the clip's 320x240 frames, set up as interleaved RTP in the RTSP connection
    assert (info.width, info.height) == (320, 240)
    assert all(f.shape == (240, 320, 3) for f in frames)
    assert any(re.search(r"RTP/AVP/TCP.*interleaved=0-1", t) for t in rtsp_tcp.setups)


def test_udp_transport_is_refused_by_a_tcp_only_camera(rtsp_tcp: InterleavedRtspServer) -> None:
    # Given the same TCP-only camera, asked for with rtsp_transport=udp in the URI
    source = make_source(rtsp_tcp.url + "?rtsp_transport=udp", SourceOptions(open_timeout_s=10))
    # When opened / Then it fails with an error naming the transport (so the TCP test proves TCP)
    with pytest.raises(SourceError, match="udp"):
        source.open()
    source.close()
