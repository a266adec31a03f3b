"""A bare Litestar + msgspec + psycopg-pool app serving Docket's document-list query, nothing else."""
