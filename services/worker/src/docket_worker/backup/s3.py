"""A target that is a prefix in an S3-compatible bucket, through the minio client."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import MinioException

from docket_worker.backup.errors import BackupError
from docket_worker.backup.settings import BackupSettings

T = TypeVar("T")
_JSON = "application/json"


class S3Target:
    """Objects under ``s3://bucket/prefix/``; S3 makes each object visible only once it is complete."""

    label = "s3"

    def __init__(self, client: Minio, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, settings: BackupSettings) -> S3Target:
        """Connect to BACKUP_S3_ENDPOINT (AWS when empty) with the configured credentials."""
        bucket, prefix = settings.s3_location
        endpoint = urlsplit(settings.backup_s3_endpoint or "https://s3.amazonaws.com")
        if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
            raise BackupError(
                f"BACKUP_S3_ENDPOINT must be an http(s) URL, not {settings.backup_s3_endpoint!r}"
            )
        access_key, secret_key = _credentials(settings)
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=10, read=300),
            retries=urllib3.Retry(total=3, backoff_factor=0.5, status_forcelist=[500, 502, 503, 504]),
        )
        client = Minio(
            endpoint.netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=endpoint.scheme == "https",
            region=settings.backup_s3_region or None,
            http_client=http,
        )
        return cls(client, bucket, prefix)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _key(self, file: str) -> str:
        return f"{self.prefix}/{file}" if self.prefix else file

    def files(self) -> dict[str, int]:
        start = f"{self.prefix}/" if self.prefix else ""

        def listing() -> dict[str, int]:
            objects = self.client.list_objects(self.bucket, prefix=start or None, recursive=False)
            return {
                str(o.object_name)[len(start) :]: int(o.size or 0)
                for o in objects
                if not o.is_dir and o.object_name
            }

        return self._call("list", listing)

    def read(self, file: str) -> bytes:
        def get() -> bytes:
            response = self.client.get_object(self.bucket, self._key(file))
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return self._call(f"read {file}", get)

    def write(self, file: str, data: bytes) -> None:
        content_type = _JSON if file.endswith(".json") else "text/plain"
        self._call(
            f"write {file}",
            lambda: self.client.put_object(
                self.bucket, self._key(file), io.BytesIO(data), len(data), content_type=content_type
            ),
        )

    def store(self, file: str, source: Path) -> None:
        self._call(
            f"upload {file}", lambda: self.client.fput_object(self.bucket, self._key(file), str(source))
        )

    def fetch(self, file: str, scratch: Path) -> Path:
        local = scratch / file
        self._call(
            f"download {file}", lambda: self.client.fget_object(self.bucket, self._key(file), str(local))
        )
        return local

    def delete(self, file: str) -> None:
        self._call(f"delete {file}", lambda: self.client.remove_object(self.bucket, self._key(file)))

    def _call(self, what: str, operation: Callable[[], T]) -> T:
        with _s3_errors(f"{what} in {self.describe()}"):
            return operation()


@contextmanager
def _s3_errors(what: str) -> Iterator[None]:
    try:
        yield
    except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        raise BackupError(f"S3: cannot {what}: {exc}") from None


def _credentials(settings: BackupSettings) -> tuple[str, str]:
    """From files in BACKUP_S3_CREDENTIALS_DIR (a mounted Secret) if set, else the environment."""
    if not settings.backup_s3_credentials_dir:
        return settings.aws_access_key_id, settings.aws_secret_access_key
    folder = Path(settings.backup_s3_credentials_dir)
    try:
        return (
            (folder / "AWS_ACCESS_KEY_ID").read_text().strip(),
            (folder / "AWS_SECRET_ACCESS_KEY").read_text().strip(),
        )
    except OSError as exc:
        raise BackupError(
            f"BACKUP_S3_CREDENTIALS_DIR={folder} must hold files AWS_ACCESS_KEY_ID and "
            f"AWS_SECRET_ACCESS_KEY: {exc.strerror}: {exc.filename}"
        ) from None
