"""``framewire models``: fetch, list, info, serve and encrypt models.

Results go to stdout; progress and errors to the log.
"""

from __future__ import annotations

import argparse
import json
import signal
import ssl
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from framewire.core.errors import ModelError

if TYPE_CHECKING:
    from framewire.models.calibration import ImageSet


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    fetch = sub.add_parser("fetch", help="fetch zoo models into the cache and verify them")
    fetch.add_argument("model_ids", nargs="*", help="zoo ids (default: all)")
    fetch.add_argument("--force", action="store_true", help="fetch again even if cached")
    listing = sub.add_parser("list", help="list the zoo")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    info = sub.add_parser("info", help="load a model and print what it is")
    info.add_argument("model_id")
    info.add_argument("--device", default="CPU")
    info.add_argument("--precision", default="auto", help="auto, bf16, f32, f16 or int8 (quantized)")
    serve = sub.add_parser("serve", help="serve models by the model-server protocol")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8500)
    serve.add_argument("--dir", type=Path, help="also serve the models described here")
    serve.add_argument("--no-zoo", action="store_true", help="serve only --dir")
    serve.add_argument("--public-url", help="base URL clients reach this server at")
    serve.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate")
    serve.add_argument("--tls-key", type=Path, help="private key of --tls-cert")
    enc = sub.add_parser("encrypt", help="encrypt a model for serving (AES-256-GCM)")
    enc.add_argument("source", help="a zoo id, or a model file (then --info is needed)")
    enc.add_argument("--out", type=Path, required=True, help="directory to serve with --dir")
    keys = enc.add_mutually_exclusive_group(required=True)
    keys.add_argument("--key-file", type=Path, help="existing key (hex, base64 or raw)")
    keys.add_argument("--generate-key", type=Path, help="write a new key here (mode 0600)")
    enc.add_argument("--key-id", help="name the key broker knows the key by (default: id)")
    enc.add_argument("--model-id", help="id to serve it under (default: the zoo id)")
    enc.add_argument("--info", type=Path, help="JSON with format, decoder, labels, input")
    quant = sub.add_parser("quantize", help="INT8 post-training quantization (NNCF), accuracy-gated")
    _quantize_arguments(quant)
    for p in (fetch, info, serve, enc, quant):
        p.add_argument("--cache", type=Path, help="model cache (env FW_MODELS_CACHE)")


def run(args: argparse.Namespace) -> int:
    actions = {
        "fetch": _fetch, "list": _list, "info": _info, "serve": _serve, "encrypt": _encrypt,
        "quantize": _quantize,
    }
    return actions[args.models_command](args)


def _cache(args: argparse.Namespace) -> Path:
    from framewire.models.loader import models_settings

    return (getattr(args, "cache", None) or models_settings().cache_dir).expanduser()


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _fetch(args: argparse.Namespace) -> int:
    from framewire.models.cache import fetch
    from framewire.models.prepared import prepared_ir
    from framewire.models.zoo import ZOO, get_spec

    cache = _cache(args)
    for model_id in args.model_ids or list(ZOO):
        spec = get_spec(model_id)
        path = fetch(spec, cache, force=args.force)
        # Made now (also when the zoo is baked into an image), so a service's first load is
        # as fast as its later ones.
        prepared_ir(spec, cache, path)
        _out(f"{model_id}\t{spec.sha256}\t{path}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from framewire.models.zoo import list_models

    rows = list_models()
    if args.json:
        _out(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    _out(f"{'ID':<24} {'VERSION':<26} {'INPUT':<8} {'DECODER':<12} LABELS")
    for r in rows:
        size = f"{r.input_width}x{r.input_height}"
        labels = ", ".join(r.labels[:6]) + (", ..." if len(r.labels) > 6 else "")
        _out(f"{r.model_id:<24} {r.version:<26} {size:<8} {r.decoder:<12} {labels}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from framewire.models.loader import load_detector

    detector = load_detector(args.model_id, cache_dir=_cache(args), device=args.device,
                             precision=args.precision)
    _out(json.dumps(asdict(detector.info), indent=2))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from framewire.models.catalog import build_catalog
    from framewire.models.loader import models_settings
    from framewire.models.server import ModelServer

    settings = models_settings()
    catalog = build_catalog(_cache(args), args.dir, zoo=not args.no_zoo)
    token = settings.server_token.get_secret_value() if settings.server_token else None
    server = ModelServer(
        catalog, host=args.host, port=args.port, token=token, public_url=args.public_url, tls=_tls(args)
    )
    # SIGTERM (docker stop, Kubernetes) ends serve_forever like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    _out(f"serving {len(catalog)} models; INFER_MODEL_INFO_URL={server.info_url}")
    try:
        server.httpd.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.tls_cert:
        return None
    if not args.tls_key:
        raise ModelError("--tls-cert needs --tls-key")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(args.tls_cert), str(args.tls_key))
    return ctx


def _encrypt(args: argparse.Namespace) -> int:
    from framewire.models.encrypt import encrypt_for_serving

    sidecar = encrypt_for_serving(
        args.source,
        args.out,
        cache_dir=_cache(args),
        key_file=args.key_file,
        generate_key=args.generate_key,
        key_id=args.key_id,
        model_id=args.model_id,
        info_file=args.info,
    )
    _out(f"wrote {sidecar} and {sidecar.with_suffix('.fwenc')}; serve with --dir {args.out}")
    return 0


def _quantize_arguments(quant: argparse.ArgumentParser) -> None:
    quant.add_argument("model_id", help="zoo id")
    quant.add_argument("--from-topic", metavar="STREAM",
                       help="calibrate on the newest frames of this stream's frames topic "
                       "(default: the bundled photos and sample clips)")
    quant.add_argument("--images", type=int, default=64,
                       help="frames to calibrate on, and as many to judge on (default 64)")
    quant.add_argument("--min-f1", type=float, default=0.95,
                       help="refuse the model when its detections agree with f32 below this F1 "
                       "(default 0.95)")
    quant.add_argument("--iou", type=float, default=0.5, help="IoU a match needs (default 0.5)")
    quant.add_argument("--preset", choices=["mixed", "performance"], default="mixed",
                       help="NNCF preset (default mixed: asymmetric activations)")
    quant.add_argument("--samples", type=Path, help="where the sample clips are (made if missing)")
    quant.add_argument("--dry-run", action="store_true", help="quantize and judge, store nothing")
    quant.add_argument("--json", action="store_true",
                       help="print the cache entry's manifest as JSON (the figures for --dry-run)")


def _quantize(args: argparse.Namespace) -> int:
    from framewire.models.gate import summary
    from framewire.models.quantize import Preset, quantize_model

    if not 0 < args.iou <= 1 or args.images < 1:
        raise ModelError("--iou must be in (0, 1] and --images at least 1")
    result = quantize_model(
        args.model_id, _calibration_images(args), _cache(args), min_f1=args.min_f1, iou=args.iou,
        preset=Preset(args.preset), store=not args.dry_run,
    )
    if args.json:
        dry = {"model_id": result.model_id, "stored": False, "agreement": result.figures.as_dict()}
        _out(json.dumps(result.entry.provenance if result.entry else dry, indent=2, sort_keys=True))
        return 0
    _out(f"{result.model_id}: {summary(result.figures)} (min F1 {args.min_f1})")
    if result.entry is None:
        _out("dry run: nothing stored")
    else:
        entry = result.entry
        _out(f"stored {entry.version}\tsha256 {entry.sha256}\t{entry.xml.parent}")
        _out(f"use it with FW_INFERENCE_PRECISION=int8 (model {entry.model_id})")
    return 0


def _calibration_images(args: argparse.Namespace) -> ImageSet:
    from framewire.models.calibration import sample_set

    if args.from_topic:
        from framewire.core.config import KafkaSettings, load_settings
        from framewire.models.topicframes import topic_set

        return topic_set(load_settings(KafkaSettings), args.from_topic, args.images)
    from framewire.samples import DEFAULT_DEST

    return sample_set(args.images, (args.samples or DEFAULT_DEST).expanduser())
