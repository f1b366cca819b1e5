"""The `archive_file` data source of hashicorp/archive: a deterministic zip and its checksums."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any, ClassVar

# What hashicorp/archive stamps on every entry (a zero time), so equal inputs give equal zips.
_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def archive_file(config: dict[str, Any]) -> dict[str, Any]:
    """Write the zip `config` describes to output_path; return the attributes the provider computes."""
    if config["type"] != "zip":
        raise ValueError(f"archive type {config['type']!r} is not supported by the stand-in; use zip")
    mode = int(config["output_file_mode"], 0) if config.get("output_file_mode") else None
    entries = _entries(config)
    if not entries:
        raise ValueError("archive has not been created as it would be empty")
    output = Path(config["output_path"])
    output.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed: instances of one module may archive to the same path at once.
    handle, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
    with os.fdopen(handle, "wb") as stream, zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (content, file_mode) in entries.items():
            info = zipfile.ZipInfo(name, date_time=_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ((mode if mode is not None else file_mode) & 0xFFFF) << 16
            archive.writestr(info, content)
    os.replace(temporary, output)
    data = output.read_bytes()
    sha256, sha512 = hashlib.sha256(data).digest(), hashlib.sha512(data).digest()
    sha1 = hashlib.sha1(data).hexdigest()
    return {
        "id": sha1,
        "output_size": len(data),
        "output_md5": hashlib.md5(data).hexdigest(),
        "output_sha": sha1,
        "output_sha256": sha256.hex(),
        "output_base64sha256": base64.b64encode(sha256).decode(),
        "output_sha512": sha512.hex(),
        "output_base64sha512": base64.b64encode(sha512).decode(),
    }


def _entries(config: dict[str, Any]) -> dict[str, tuple[bytes, int]]:
    """Archive name -> (content, file mode), in the order the archive provider writes them."""
    if config.get("source_dir"):
        return _directory(
            Path(config["source_dir"]), config.get("excludes") or [], bool(config.get("exclude_symlink_directories"))
        )
    if config.get("source_file"):
        path = Path(config["source_file"])
        return {path.name: (path.read_bytes(), path.stat().st_mode)}
    if config.get("source_content_filename"):
        return {config["source_content_filename"]: ((config.get("source_content") or "").encode(), 0o100644)}
    sources = {source["filename"]: source["content"].encode() for source in config.get("source") or []}
    return {name: (sources[name], 0o100644) for name in sorted(sources)}


def _directory(root: Path, excludes: list[str], skip_linked_directories: bool) -> dict[str, tuple[bytes, int]]:
    if not root.is_dir():
        raise ValueError(f"could not archive missing directory: {root}")
    patterns = [_pattern(exclude) for exclude in excludes if exclude]
    entries = {}
    for folder, directories, files in os.walk(root, followlinks=not skip_linked_directories):
        relative = Path(folder).relative_to(root)
        directories[:] = sorted(
            d
            for d in directories
            if not _excluded((relative / d).as_posix(), patterns)
            and not (skip_linked_directories and (Path(folder) / d).is_symlink())
        )
        for name in sorted(files):
            archived = (relative / name).as_posix()
            if not _excluded(archived, patterns):
                path = Path(folder) / name
                entries[archived] = (path.read_bytes(), path.stat().st_mode)
    return entries


def _pattern(exclude: str) -> re.Pattern[str]:
    """An exclude glob as the archive provider matches it (doublestar): `**` spans folders, `*` does not."""
    parts = re.split(r"(\*\*|\*|\?)", exclude)
    wildcards = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(part, re.escape(part)) for part in parts))


def _excluded(path: str, patterns: list[re.Pattern[str]]) -> bool:
    return any(pattern.fullmatch(path) for pattern in patterns)


class Archive:
    """The hashicorp/archive stand-in: one data source, no resources, nothing to configure."""

    resources: ClassVar[dict[str, Any]] = {}
    data_sources: ClassVar[dict[str, Any]] = {"archive_file": archive_file}

    def configure(self, config: dict[str, Any]) -> None:
        pass
