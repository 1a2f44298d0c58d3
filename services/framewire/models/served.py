"""The seed's model-server protocol: the model-info document and what we make of it.

``GET {INFER_MODEL_INFO_URL}/{INFER_MODEL_ID}`` answers JSON with the seed's fields
``id, framework, target, url, name, version, dtype, encrypted`` and our additions:
``sha256`` (of the bytes at ``url``; checked), ``format`` (tflite, pb, onnx), ``decoder``,
``decoder_options``, ``labels``, ``input`` ({width, height, scaling, color, layout,
reshape}) and ``score_threshold``. Additions a zoo model leaves out come from the zoo entry
named by ``name`` (or ``id``). Parsed by the loader; produced by ``framewire models serve``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from framewire.core.errors import ModelError
from framewire.models.zoo import ZOO, InputScaling, ModelSpec, SourceSpec

SEED_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "framework": str,
    "target": str,
    "url": str,
    "name": str,
    "version": (str, int, float),
    "dtype": str,
    "encrypted": bool,
}


@dataclass(frozen=True)
class ServedModel:
    """A validated model-info document."""

    model_id: str
    name: str
    version: str
    framework: str
    target: str
    dtype: str
    url: str
    encrypted: bool
    sha256: str | None
    extra: dict[str, Any]


def parse_info(doc: Any, where: str) -> ServedModel:
    """Validate a model-info document; every problem is named in one ModelError."""
    if not isinstance(doc, dict):
        raise ModelError(f"model info from {where} is not a JSON object")
    missing = [k for k in SEED_FIELDS if k not in doc]
    wrong = [k for k, t in SEED_FIELDS.items() if k in doc and not isinstance(doc[k], t)]
    sha = doc.get("sha256")
    if sha is not None and not (isinstance(sha, str) and len(sha) == 64 and _is_hex(sha)):
        wrong.append("sha256")
    if missing or wrong:
        raise ModelError(f"model info from {where} is invalid: missing fields {missing}, wrong types {wrong}")
    extra = {k: v for k, v in doc.items() if k not in SEED_FIELDS and k != "sha256"}
    return ServedModel(
        model_id=doc["id"],
        name=doc["name"],
        version=str(doc["version"]),
        framework=doc["framework"],
        target=doc["target"],
        dtype=doc["dtype"],
        url=doc["url"],
        encrypted=doc["encrypted"],
        sha256=sha.lower() if sha else None,
        extra=extra,
    )


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


def info_for_spec(spec: ModelSpec, url: str, sha256: str, *, encrypted: bool) -> dict[str, Any]:
    """The model-info document ``framewire models serve`` gives for a zoo-described model."""
    fmt = spec.filename.rsplit(".", 1)[-1]
    return {
        "id": spec.model_id,
        "name": spec.model_id,
        "version": spec.version,
        "framework": {"tflite": "tflite", "pb": "tensorflow"}.get(fmt, fmt),
        "target": "object-detection",
        "dtype": "fp32",
        "url": url,
        "encrypted": encrypted,
        "sha256": sha256,
        "format": fmt,
        "decoder": spec.decoder,
        "decoder_options": spec.decoder_options,
        "labels": list(spec.labels),
        "score_threshold": spec.score_threshold,
        "input": {
            "width": spec.input_width,
            "height": spec.input_height,
            "scaling": spec.scaling.value,
            "color": spec.color,
            "layout": spec.layout,
            "reshape": list(spec.reshape) if spec.reshape else None,
        },
    }


def spec_for(served: ServedModel) -> ModelSpec:
    """A ModelSpec for a served model: its own fields over the zoo entry it names, if any."""
    base = ZOO.get(served.name) or ZOO.get(served.model_id)
    x = served.extra
    if base is None and not {"decoder", "labels", "input", "format"} <= x.keys():
        raise ModelError(
            f"served model {served.model_id!r} is not a zoo model, so its info "
            "must give format, decoder, labels and input"
        )
    fields = dataclasses.asdict(base) if base else {}
    fields.pop("source", None)
    try:
        fields.update(_overrides(x))
        return ModelSpec(
            # The served bytes' hash is checked on download; the version is the server's.
            **{**fields, "model_id": served.model_id, "sha256": ""},
            source=SourceSpec("model_server", served.name, served.version, served.url),
        )
    except (TypeError, ValueError) as exc:
        raise ModelError(f"served model {served.model_id!r} has a bad field: {exc}") from None


def _overrides(x: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": "served model", "licence": "see the model server"}
    if "format" in x:
        out["filename"] = f"model.{x['format']}"
    if "decoder" in x:
        out["decoder"] = str(x["decoder"])
    if "decoder_options" in x:
        out["decoder_options"] = dict(x["decoder_options"])
    if "labels" in x:
        out["labels"] = tuple(str(label) for label in x["labels"])
    if "score_threshold" in x:
        out["score_threshold"] = float(x["score_threshold"])
    if "input" in x:
        inp = x["input"]
        out |= {
            "input_width": int(inp["width"]),
            "input_height": int(inp["height"]),
            "scaling": InputScaling(inp.get("scaling", "unit")),
            "color": inp.get("color", "RGB"),
            "layout": inp.get("layout", "NHWC"),
        }
        out["reshape"] = tuple(inp["reshape"]) if inp.get("reshape") else None
    return out
