"""The ``bayesgen`` command line: a thin layer over the public library.

It parses options, calls the library, formats the output and turns library errors into clean
messages in the command line's words (``--reg-covar``, not ``reg_covar=``), with a "did you
mean" for near misses (commands, options, densities, labels, columns).  Exit codes: 0 ok, 1
failed (bad data, bad model file, fitting failed), 2 usage error, 130 interrupted (Ctrl-C),
143 terminated (SIGTERM); a stopped command removes its temporary files.  Text from a model
or data file is shown with control characters escaped.  Only data go to stdout
(``sample -o -``, the tables of ``inspect``, ``check``, ``evaluate``, ``sample-1d`` and the
demo's walk-through); messages, progress and warnings go to stderr, and progress is silent
when stderr is not a terminal.

One module per command group (:mod:`~bayesgen.cli.demo`, :mod:`~bayesgen.cli.fit`,
:mod:`~bayesgen.cli.sample`, :mod:`~bayesgen.cli.split`, :mod:`~bayesgen.cli.plot`,
:mod:`~bayesgen.cli.inspect`,
:mod:`~bayesgen.cli.univariate` for ``sample-1d``, :mod:`~bayesgen.cli.check`,
:mod:`~bayesgen.cli.inpaint`, :mod:`~bayesgen.cli.evaluate` for ``evaluate`` and
``report``), each declaring its options beside its handler; :mod:`~bayesgen.cli.common`
holds what they share and :mod:`~bayesgen.cli.app` the parser and :func:`main`.
"""

from bayesgen.cli.app import _flag_wording as _flag_wording
from bayesgen.cli.app import build_parser, main
from bayesgen.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main"]
