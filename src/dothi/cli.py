"""The `dothi` command: Django's management commands, with dashed names (`dothi seed-demo`)."""

from __future__ import annotations

import os
import sys


def _data_dir_to_env(argv: list[str]) -> None:
    """`dothi demo --data-dir DIR`: settings read DOTHI_DATA_DIR once, at import, so move the option into
    the environment before Django starts (child processes inherit it too)."""
    if len(argv) < 2 or argv[1] != "demo":
        return
    for i, arg in enumerate(argv[2:], start=2):
        if arg == "--data-dir" and i + 1 < len(argv):
            os.environ["DOTHI_DATA_DIR"] = os.path.abspath(argv[i + 1])
        elif arg.startswith("--data-dir="):
            os.environ["DOTHI_DATA_DIR"] = os.path.abspath(arg.split("=", 1)[1])


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dothi.settings")
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    _data_dir_to_env(argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
