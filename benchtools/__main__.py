"""``python -m benchtools COMMAND ...``: one parser, one module per command.

Every command module has ``build_parser(parser)``, which adds its options to
the sub-parser it is given, and ``main(args)``, which returns the exit
status. ``history run`` hands everything after ``run`` to ``asv run``
unparsed.
"""

import argparse
import importlib
import sys

from . import COMMANDS


def build_parser():
    """The command line: one sub-parser per command of :data:`benchtools.COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="python -m benchtools",
        description="The tools around paralleldot's asv suite; run from the repository root.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"benchtools.{module_name}")
        summary = (module.__doc__ or name).strip().splitlines()[0]
        p = sub.add_parser(name, help=summary, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.build_parser(p)
        p.set_defaults(run=module.main)
    return parser


def main(argv=None):
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run the command; return its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:2] == ["history", "run"]:
        # Everything after "history run" belongs to asv run, options included.
        from . import history

        return history.run(argv[2:])
    args = build_parser().parse_args(argv)
    args.argv = argv  # the command as given, for the provenance of what it writes
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
