"""Day 2: what changes between two revisions of a grid, what applying it takes, and in what
order to apply it. `state` is each revision's deployed facts per site and node, `diff`
classifies their differences, `upgrade` orders them into batches an executor can run."""
