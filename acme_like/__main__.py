"""``python -m acme_like``: the command line (see :mod:`acme_like.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
