from aigrid.cli import main

# Guarded: a process that renders sites (render.sites, started with "spawn") imports this
# module again under another name, and must not run the command line a second time.
if __name__ == "__main__":
    main()
