"""`make bench`: Docket measured against the stack users would otherwise pick, and the machine's limits."""
