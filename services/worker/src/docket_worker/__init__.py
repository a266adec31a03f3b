"""Docket worker package."""
