"""``python -m bayesgen`` runs the command line."""

import sys

from bayesgen.cli import main

sys.exit(main())
