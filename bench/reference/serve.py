"""Serve the reference app under uvicorn with the settings Docket's ``docket_core.server`` uses."""

from __future__ import annotations

import os

import uvicorn


def main() -> None:
    uvicorn.run(
        "bench.reference.app:create_app",
        factory=True,
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        workers=int(os.environ.get("WORKERS", "1")),
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_keep_alive=5,
    )


if __name__ == "__main__":
    main()
