"""Entry point of the frozen app: the same ``castapp`` command as the Python package."""

import sys

from castapp.cli import main

if __name__ == "__main__":
    sys.exit(main())
