"""The search index's configuration: SEARCH_TEXT_CONFIG applied at start-up, and the re-index it starts."""
