"""`python -m compiler` is the `gradc` command."""

import sys

from compiler.cli import main

sys.exit(main())
