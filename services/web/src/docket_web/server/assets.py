"""Static assets under content-hashed names, computed once at start-up and cached forever by browsers."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

STATIC_PREFIX = "/static/"
IMMUTABLE = "public, max-age=31536000, immutable"
_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".woff2": "font/woff2",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


class AssetManifest:
    """Maps each file's logical name (``app.css``) to its hashed URL (``/static/app.1a2b3c4d5e6f.css``)."""

    def __init__(self, directory: Path) -> None:
        self.urls: dict[str, str] = {}
        self.files: dict[str, Asset] = {}
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            logical = path.relative_to(directory).as_posix()
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:12]
            hashed = f"{path.stem}.{digest}{path.suffix}"
            if path.parent != directory:
                hashed = f"{path.parent.relative_to(directory).as_posix()}/{hashed}"
            media_type = (
                _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            )
            self.urls[logical] = STATIC_PREFIX + hashed
            self.files[hashed] = Asset(body, media_type, f'"{digest}"')

    def url(self, logical: str) -> str:
        """The hashed URL of a static file; a typo fails loudly at render time."""
        return self.urls[logical]


@get("/static/{file_path:path}", include_in_schema=False, sync_to_thread=False, cache_control=None)
def static_asset(request: Request[Any, Any, Any], file_path: FromPath[str]) -> Response[bytes]:
    """Serve one hashed asset from memory; any other name is a 404."""
    manifest: AssetManifest = request.app.state.assets
    asset = manifest.files.get(file_path.lstrip("/"))
    if asset is None:
        raise NotFoundException
    headers = {"Cache-Control": IMMUTABLE, "ETag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
