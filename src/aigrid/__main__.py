"""The `aigrid` command (the console script and `python -m aigrid`)."""

import sys


def run() -> None:
    # The command line takes a second or more to load (pydantic models, the catalog, rich):
    # Ctrl-C then ends it the way the shell expects (130: interrupted), not with a traceback.
    try:
        from aigrid.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("\naigrid: interrupted\n")
        sys.exit(130)
    main()


# Guarded, as the main module of a program that starts processes with "spawn" (render.sites)
# must be: such a process imports its parent's main module again. Python skips that for
# `python -m aigrid`, but not for this file run by its path.
if __name__ == "__main__":
    run()
