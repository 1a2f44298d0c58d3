"""Test kits shared by the tests and the benchmarks: real servers, real traffic, real photos.

They start RTSP and MJPEG servers and ffmpeg, run services in threads or processes and use
test-only extras (scikit-image's bundled photos), so they live here and not in the installed
``framewire`` package, which imports nothing from them. Tests import them as ``support.<kit>``
(pytest puts ``tests/`` on ``sys.path``); the scripts in ``benchmarks/`` do the same through
``benchmarks/kitpath.py``. One module per kit: ``aggregator``, ``dashboard``, ``gateway``,
``inference``, ``models``, ``replay``.
"""
