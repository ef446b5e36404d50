"""Entrypoint: ``python server.py`` serves gRPC (same as ``idgraph serve``)."""

import sys

from idgraph.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
