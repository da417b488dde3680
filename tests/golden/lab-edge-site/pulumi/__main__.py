"""One edge site's cluster layer: the stack's site, built by edge_site.py (compiled by aigrid)."""

import edge_site

edge_site.main()
