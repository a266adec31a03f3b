"""Docket web package."""
