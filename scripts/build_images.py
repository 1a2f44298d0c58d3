#!/usr/bin/env python3
"""Build every image compose and the chart run, with no image registry.

    python3 scripts/build_images.py [--extra-ca FILE] [--env-file FILE]

  debian      a debootstrap rootfs of Debian bookworm (minbase), ``docker import``ed; the
              rootfs tarball is cached under ~/.cache/framewire/images (or $FW_HOME/images)
  python      Debian's Python 3.11 on it (compose/images/python), the PYTHON_IMAGE build arg
  kafka       the Maven jars ``framewire kafka`` resolves, with the apache/kafka image's
              environment contract (compose/images/kafka)
  prometheus  Debian's prometheus package (compose/images/prometheus)
  framewire   compose/Dockerfile, installing from a wheelhouse built on this host (from pip's
              cache), with the zoo fetched and the sample clips made here: the build itself
              runs without network

Each image is tagged with a hash of its inputs (files, build args, parent image), so an
image built from the same inputs is reused, not rebuilt. Prints ``NAME=image`` lines for
compose (FW_IMAGE, KAFKA_IMAGE, PROMETHEUS_IMAGE, PYTHON_IMAGE, DEBIAN_IMAGE).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIRROR = os.environ.get("FW_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
# Wheels the image installs besides the package's dependencies: the build backend (pip
# builds framewire itself offline). The sample clips are made here, not in the build.
EXTRA_WHEELS = ["setuptools>=69", "wheel"]


def cache_dir() -> Path:
    base = Path(os.environ.get("FW_HOME", Path.home() / ".cache" / "framewire"))
    path = base / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path


def say(text: str) -> None:
    sys.stderr.write(f"[build_images {time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


def run(cmd: list[str], log: Path | None = None, **kw) -> None:
    """Run ``cmd``; on failure raise with the end of its output."""
    if log is None:
        subprocess.run(cmd, check=True, **kw)
        return
    with log.open("wb") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False, **kw)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}); {log}:\n{tail}")


def image_exists(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0


def digest(parts: Iterable[bytes | str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:16]


def tree_parts(root: Path, *, contents: bool = True) -> Iterable[bytes | str]:
    """Names (and contents, or sizes) of every file under ``root``, in a stable order."""
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        yield str(path.relative_to(root))
        yield path.read_bytes() if contents else str(path.stat().st_size)


# ---- debian --------------------------------------------------------------------------------
def debian_image() -> str:
    """The Debian base: a cached debootstrap rootfs tarball, imported once per content."""
    tarball = cache_dir() / f"debian-{SUITE}-minbase.tar"
    stamp = tarball.with_suffix(".sha256")
    if not (tarball.exists() and stamp.exists()):
        _debootstrap(tarball)
        stamp.write_text(_file_sha(tarball))
    ref = f"framewire-debian:{SUITE}-{stamp.read_text().strip()[:16]}"
    if not image_exists(ref):
        say(f"importing {tarball.name} as {ref}")
        with tarball.open("rb") as fh:
            run(["docker", "import", "-", ref], stdin=fh, stdout=subprocess.DEVNULL)
    return ref


def _debootstrap(tarball: Path) -> None:
    if not shutil.which("debootstrap"):
        raise RuntimeError("debootstrap is missing: apt-get install debootstrap")
    say(f"debootstrap {SUITE} from {MIRROR} (once; cached as {tarball})")
    with tempfile.TemporaryDirectory(prefix="fw-rootfs-", dir=cache_dir()) as work:
        rootfs = Path(work) / "rootfs"
        run(["debootstrap", "--variant=minbase", SUITE, str(rootfs), MIRROR],
            log=cache_dir() / "debootstrap.log")
        # Updates and security fixes come from the same mirror host as the base.
        (rootfs / "etc/apt/sources.list").write_text(
            f"deb {MIRROR} {SUITE} main\ndeb {MIRROR} {SUITE}-updates main\n"
            f"deb {MIRROR.rsplit('/', 1)[0]}/debian-security {SUITE}-security main\n"
        )
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True)
        partial = tarball.with_suffix(".tar.partial")
        run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), "."])
        partial.replace(tarball)


def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- images built from a Dockerfile ----------------------------------------------------------
def build(name: str, context: Path, dockerfile: Path, args: dict[str, str], inputs: str,
          *, network: str | None = None) -> str:
    """``docker build`` unless an image of the same inputs exists; returns its reference."""
    tag = digest([inputs, dockerfile.read_bytes(), *sorted(f"{k}={v}" for k, v in args.items())])
    ref = f"framewire:{tag}" if name == "framewire" else f"framewire-{name}:{tag}"
    if image_exists(ref):
        say(f"{name}: reusing {ref}")
        return ref
    say(f"{name}: building {ref}")
    started = time.monotonic()
    cmd = ["docker", "build", "-q", "-f", str(dockerfile), "-t", ref]
    for key, value in args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    if network:
        cmd += ["--network", network]
    run([*cmd, str(context)], log=cache_dir() / f"build-{name}.log",
        env={**os.environ, "DOCKER_BUILDKIT": "0"})
    say(f"{name}: built in {time.monotonic() - started:.0f}s")
    return ref


def python_image(debian: str) -> str:
    folder = ROOT / "compose/images/python"
    return build("python", folder, folder / "Dockerfile", {"DEBIAN_IMAGE": debian}, debian)


def prometheus_image(debian: str) -> str:
    folder = ROOT / "compose/images/prometheus"
    return build("prometheus", folder, folder / "Dockerfile", {"DEBIAN_IMAGE": debian}, debian)


def kafka_image(debian: str) -> str:
    sys.path.insert(0, str(ROOT / "services"))
    from framewire.broker.maven import resolve_classpath

    libs = resolve_classpath()
    context = cache_dir() / "context-kafka"
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(ROOT / "compose/images/kafka", context)
    _link_tree(libs, context / "libs")
    inputs = digest([debian, *tree_parts(ROOT / "compose/images/kafka"),
                     *tree_parts(libs, contents=False)])
    return build("kafka", context, context / "Dockerfile", {"DEBIAN_IMAGE": debian}, inputs)


def _link_tree(src: Path, dst: Path) -> None:
    """Hard links when on one file system (a wheelhouse is hundreds of MB), else copies."""
    def link(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=link)


# ---- framewire -------------------------------------------------------------------------------
def requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *EXTRA_WHEELS]


def wheelhouse() -> Path:
    """Wheels of every requirement, built here from pip's cache (once per requirement set)."""
    reqs = requirements()
    house = cache_dir() / f"wheelhouse-py{sys.version_info.major}{sys.version_info.minor}-{digest(reqs)}"
    if (house / ".complete").exists():
        return house
    say(f"building the wheelhouse {house.name} ({len(reqs)} requirements)")
    house.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
         "--wheel-dir", str(house), *reqs], log=cache_dir() / "wheelhouse.log")
    (house / ".complete").write_text("\n".join(reqs))
    return house


def zoo_dir() -> Path:
    """The zoo cache of this host, fetched (and verified) if needed."""
    run([sys.executable, "-m", "framewire.cli", "models", "fetch"], stdout=subprocess.DEVNULL)
    sys.path.insert(0, str(ROOT / "services"))
    from framewire.models.settings import ModelsSettings

    return ModelsSettings().cache_dir.expanduser()


def samples_dir() -> Path:
    """The sample clips ``framewire samples`` makes (scikit-image is a test dependency here)."""
    code = (ROOT / "services/framewire/samples.py").read_bytes()
    out = cache_dir() / f"samples-{digest([code])}"
    if not (out / ".complete").exists():
        shutil.rmtree(out, ignore_errors=True)
        run([sys.executable, "-m", "framewire.cli", "samples", "--dest", str(out)],
            log=cache_dir() / "samples.log")
        (out / ".complete").write_text("")
    return out


def framewire_context(house: Path, zoo: Path, samples: Path, extra_ca: Path | None) -> Path:
    """The repository's build inputs plus compose/context/{wheels,zoo,samples[,CA]}."""
    sys.path.insert(0, str(ROOT / "services"))
    from framewire.models.zoo import ZOO

    context = cache_dir() / "context-framewire"
    shutil.rmtree(context, ignore_errors=True)
    (context / "compose").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, context / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("schemas", "services"):
        shutil.copytree(ROOT / name, context / name, ignore=ignore)
    shutil.copytree(ROOT / "compose/context", context / "compose/context")
    shutil.copy2(ROOT / "compose/Dockerfile", context / "compose/Dockerfile")
    _link_tree(house, context / "compose/context/wheels")
    for spec in ZOO.values():
        target = context / "compose/context/zoo" / spec.model_id / spec.filename
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(zoo / spec.model_id / spec.filename, target)
        target.chmod(0o644)
    shutil.copytree(samples, context / "compose/context/samples",
                    ignore=shutil.ignore_patterns(".complete"))
    if extra_ca:
        shutil.copy2(extra_ca, context / "compose/context/extra-ca.crt")
    return context


def framewire_inputs(extra_ca: Path | None) -> Path:
    """The build context of the framewire image (the slow part: the wheelhouse)."""
    with ThreadPoolExecutor(3) as pool:
        house, zoo, samples = pool.submit(wheelhouse), pool.submit(zoo_dir), pool.submit(samples_dir)
        return framewire_context(house.result(), zoo.result(), samples.result(), extra_ca)


def framewire_image(python: str, context: Path, extra_ca: Path | None) -> str:
    args = {"PYTHON_IMAGE": python}
    if extra_ca:
        args["EXTRA_CA_BUNDLE"] = "extra-ca.crt"
    inputs = digest([python, *tree_parts(context / "schemas"), *tree_parts(context / "services"),
                     *tree_parts(context / "compose/context"), (context / "pyproject.toml").read_bytes()])
    # Everything it installs is in the context: no network proves it and keeps it fast.
    return build("framewire", context, context / "compose/Dockerfile", args, inputs, network="none")


def build_all(extra_ca: Path | None = None) -> dict[str, str]:
    """Every image, the independent ones side by side; returns compose's variables."""
    with ThreadPoolExecutor(4) as pool:
        # The wheelhouse needs no image: it is made while the Debian images build.
        inputs = pool.submit(framewire_inputs, extra_ca)
        debian = debian_image()
        python = pool.submit(python_image, debian)
        kafka = pool.submit(kafka_image, debian)
        prometheus = pool.submit(prometheus_image, debian)
        fw = framewire_image(python.result(), inputs.result(), extra_ca)
        return {"DEBIAN_IMAGE": debian, "PYTHON_IMAGE": python.result(), "FW_IMAGE": fw,
                "KAFKA_IMAGE": kafka.result(), "PROMETHEUS_IMAGE": prometheus.result()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra-ca", type=Path,
                        help="CA bundle pip must trust in the framewire build (off by default)")
    parser.add_argument("--env-file", type=Path, help="also write the NAME=image lines here")
    args = parser.parse_args()
    started = time.monotonic()
    images = build_all(args.extra_ca)
    lines = "".join(f"{k}={v}\n" for k, v in images.items())
    if args.env_file:
        args.env_file.write_text(lines)
    sys.stdout.write(lines)
    say(f"done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
