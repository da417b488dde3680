"""Typed blueprint models."""
