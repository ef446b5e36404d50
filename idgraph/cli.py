"""The ``idgraph`` command line."""

from __future__ import annotations

import argparse
import logging
import sys

from idgraph.config import Settings
from idgraph.errors import IdGraphError


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``idgraph`` command."""
    parser = argparse.ArgumentParser(prog="idgraph", description="OneID identity graph service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve gRPC (starts a local Neo4j unless "
                        "IDGRAPH_NEO4J_URI is set)")
    commands.add_parser("check-rules", help="validate the configured rules file and print it")
    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "serve":
            from idgraph.serve import serve

            return serve(settings)
        rules = settings.load_rules()
        print(rules.model_dump_json(indent=2))
        return 0
    except IdGraphError as exc:
        print(f"idgraph: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
