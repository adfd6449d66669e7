"""Command line: ``python -m companion <command>``."""

from __future__ import annotations

import argparse
import sys


def _doctor(_: argparse.Namespace) -> int:
    """Print the versions of the stack and where data sets are looked for."""
    import importlib.metadata as md
    import platform

    print(f"python {platform.python_version()} on {platform.machine()}")
    for name in ["companion", "torch", "torch-geometric", "numpy", "vesin", "e3nn",
                 "pymatgen", "ase"]:
        try:
            print(f"{name:16s} {md.version(name)}")
        except md.PackageNotFoundError:
            print(f"{name:16s} NOT INSTALLED")
    import torch

    print(f"torch CUDA available: {torch.cuda.is_available()}")
    from companion.data.resolve import search_dirs

    print("data search path:", *[str(p) for p in search_dirs()], sep="\n  ")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="print versions and data search path").set_defaults(func=_doctor)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
