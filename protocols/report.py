"""plab report: run every protocol, compare with the published data, write one Markdown page."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

DATA_PATH = Path(__file__).resolve().parent / "data" / "plasticity_data.json"


@lru_cache(maxsize=1)
def _reference_file() -> dict:
    with DATA_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)


def load_reference(key: str) -> dict:
    """One entry of the published values shipped with the package (``protocols/data``)."""
    data = _reference_file()
    if key not in data:
        raise KeyError(f"no entry {key!r} in {DATA_PATH.name}; known: {', '.join(k for k in data if k[0] != '_')}")
    return json.loads(json.dumps(data[key]))  # a copy the caller may modify
