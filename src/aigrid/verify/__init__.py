"""The generated verification suite: what a converged node must look like, checked with
pytest-testinfra against the inventory (lab or real)."""
