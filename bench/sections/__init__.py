"""One module per benchmark section; each exposes ``run(ctx) -> Section``."""
