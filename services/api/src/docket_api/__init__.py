"""Docket api package."""
