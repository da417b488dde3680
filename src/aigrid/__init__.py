"""aigrid: declarative blueprints for carrier GPU AI grids."""

__version__ = "0.1.0"
