"""`python -m compiler` is the `gradc` command."""

import sys

from .cli import main

sys.exit(main())
