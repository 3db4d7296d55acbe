import sys

from castapp.cli import main

sys.exit(main())
