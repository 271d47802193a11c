"""``python -m bayesgen.cli`` runs the command line (as ``python -m bayesgen`` does)."""

import sys

from bayesgen.cli import main

sys.exit(main())
