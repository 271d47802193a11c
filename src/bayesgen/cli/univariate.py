"""``bayesgen sample-1d``: inverse-transform sampling of a 1-D distribution."""

from __future__ import annotations

from bayesgen.cli.common import EXIT_OK, UsageError, add_command, non_negative_int

__all__ = ["register"]


def run(args) -> int:
    """Print ``z`` and ``x = ppf(z)`` for ``-n`` draws, tab-separated, one pair a line."""
    from bayesgen.univariate import InverseTransformSampler, tutorial_sanity_checks

    try:
        sampler = InverseTransformSampler.from_name(args.dist, *args.params)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.check:
        for description, expected, got in tutorial_sanity_checks():
            print(f"# {description}: expected {expected}, got {got}")
    z, x = sampler.sample(args.n, random_state=args.seed, return_latent=True)
    for a, b in zip(z, x, strict=True):
        print(f"{a:.6f}\t{b:.6f}")
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``sample-1d`` and its options."""
    p = add_command(
        subparsers,
        "sample-1d",
        run,
        "Inverse-transform sampling of a 1-D distribution: prints z and x = ppf(z).",
        "bayesgen sample-1d --dist norm --params 200 40 -n 5 --seed 0",
    )
    p.add_argument("--dist", default="norm", help="scipy.stats continuous family (default: norm)")
    p.add_argument(
        "--params",
        type=float,
        nargs="*",
        default=[200.0, 40.0],
        help="shape parameters, then loc and scale (default: 200 40)",
    )
    p.add_argument("-n", type=non_negative_int, default=5)
    p.add_argument("--seed", type=non_negative_int, default=None)
    p.add_argument("--check", action="store_true", help="print the tutorial's sanity checks first")
