from aigrid.cli import main

# Guarded, as the main module of a program that starts processes with "spawn" (render.sites)
# must be: such a process imports its parent's main module again. Python skips that for
# `python -m aigrid`, but not for this file run by its path.
if __name__ == "__main__":
    main()
