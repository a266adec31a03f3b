"""Docket core package."""
