"""Fetching a release file from a URL: size-limited, checksummed, plain-words errors.

Used by the release upload page ("give a URL") and by the release feeds' beat task.
"""

import hashlib
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

CHUNK = 1 << 20
TIMEOUT_SECONDS = 60


class DownloadError(Exception):
    """The file could not be fetched; the message says why in plain words."""


@dataclass(frozen=True)
class DownloadedFile:
    path: Path
    name: str
    size: int
    checksum: str
    etag: str = ""
    last_modified: str = ""


def _file_name(url: str, disposition: str) -> str:
    match = re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', disposition or "")
    if match:
        name = urllib.parse.unquote(match.group(1))
    else:
        name = urllib.parse.unquote(Path(urllib.parse.urlparse(url).path).name)
    name = Path(name).name  # never a path from the server
    return name or "release-file"


def download_release_file(
    url: str,
    *,
    max_bytes: int | None = None,
    dest_dir: Path | None = None,
    etag: str = "",
    last_modified: str = "",
) -> DownloadedFile | None:
    """Download `url` into `dest_dir`; None when the server says it has not changed (304).

    Refuses non-HTTP(S) URLs, files over `max_bytes` (RELEASE_UPLOAD_MAX_BYTES by default),
    empty files and HTTP errors, leaving nothing behind.
    """
    max_bytes = max_bytes or settings.RELEASE_UPLOAD_MAX_BYTES
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise DownloadError(f"Only http:// and https:// addresses can be downloaded, not “{url}”.")
    request = urllib.request.Request(url, headers={"User-Agent": "CodingBench release feed"})
    if etag:
        request.add_header("If-None-Match", etag)
    if last_modified:
        request.add_header("If-Modified-Since", last_modified)
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return None
        raise DownloadError(f"The server answered {exc.code} {exc.reason} for {url}.") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"Could not reach {url}: {reason}.") from exc

    with response:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise DownloadError(
                f"The file is {int(declared):,} bytes; the limit is {max_bytes:,} bytes."
            )
        name = _file_name(url, response.headers.get("Content-Disposition", ""))
        directory = Path(dest_dir or tempfile.mkdtemp(prefix="release-download-"))
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / name
        digest = hashlib.sha256()
        size = 0
        try:
            with target.open("wb") as out:
                while chunk := response.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise DownloadError(
                            f"The file is larger than the limit of {max_bytes:,} bytes."
                        )
                    digest.update(chunk)
                    out.write(chunk)
            if declared and declared.isdigit() and size != int(declared):
                raise DownloadError(
                    f"The download was cut short: {size:,} of {int(declared):,} bytes arrived."
                )
            if size == 0:
                raise DownloadError("The server sent an empty file.")
        except (DownloadError, OSError) as exc:
            target.unlink(missing_ok=True)
            if isinstance(exc, DownloadError):
                raise
            raise DownloadError(f"The download failed: {exc}.") from exc
        return DownloadedFile(
            path=target,
            name=name,
            size=size,
            checksum=digest.hexdigest(),
            etag=response.headers.get("ETag", ""),
            last_modified=response.headers.get("Last-Modified", ""),
        )
