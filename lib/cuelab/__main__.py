"""`python -m cuelab <command>`: `measure` points a study's measurement at your model or method.

  python -m cuelab measure {dist,diffroar,cues,xor} --help
"""

from __future__ import annotations

import sys

COMMANDS = {"measure": "each study's measurement pointed at your model or method (python -m cuelab measure --help)"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m cuelab <command> ...\n\ncommands:")
        for name, text in COMMANDS.items():
            print(f"  {name:<10} {text}")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "measure":
        from cuelab.measure.cli import main as measure_main

        return measure_main(rest)
    print(f"error: unknown command {command!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
