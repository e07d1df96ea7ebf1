"""Raw input and datasets on object storage: any URI pyarrow.fs understands (s3://, gs://, hdfs://...).

The pipeline itself works on local files: a remote raw prefix is mirrored into a local working
directory (only new and changed objects are downloaded, deleted ones are removed), and after each
commit the current datasets are published to the remote output prefix (only new part files are
uploaded; parts no longer current are deleted after the manifest names the new set). S3-compatible
stores other than AWS take their endpoint in the URI, as pyarrow reads it:
``s3://bucket/prefix?endpoint_override=127.0.0.1:9000&scheme=http``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pyarrow.fs as pafs

from tasks.config import PipelineConfig
from tasks.schemas import DATASETS

MANIFEST = "_newsflow.json"
COPY_BUFFER = 1 << 20


def is_remote(location: str) -> bool:
    """A URI with a scheme other than file:// (a plain path, or a Windows drive letter, is local)."""
    scheme = urlsplit(location).scheme
    return len(scheme) > 1 and scheme != "file"


def open_location(uri: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and the path within it (no trailing slash) of a URI."""
    filesystem, path = pafs.FileSystem.from_uri(uri)
    return filesystem, path.rstrip("/")


def work_subdir(work_dir: str, uri: str) -> Path:
    """A local directory of its own for one remote location."""
    bare = uri.split("?", 1)[0]
    slug = "".join(c if c.isalnum() else "-" for c in bare.split("://", 1)[-1]).strip("-")[:60]
    return Path(work_dir) / f"{slug}-{hashlib.sha256(uri.encode()).hexdigest()[:8]}"


def local_config(config: PipelineConfig) -> PipelineConfig:
    """The configuration the stages run with: remote locations replaced by their local working copies."""
    local = {}
    if is_remote(config.raw_dir):
        local["raw_dir"] = str(work_subdir(config.work_dir, config.raw_dir) / "raw")
    if is_remote(config.out_dir):
        local["out_dir"] = str(work_subdir(config.work_dir, config.out_dir) / "out")
    return config.model_copy(update=local) if local else config


@dataclass(frozen=True)
class Transfer:
    """What one mirror or publish moved."""

    copied: int
    deleted: int
    unchanged: int
    bytes_copied: int


def _files(filesystem: pafs.FileSystem, root: str) -> dict[str, pafs.FileInfo]:
    """Files under root by their path relative to it."""
    infos = filesystem.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    return {str(PurePosixPath(i.path).relative_to(root)): i for i in infos if i.type == pafs.FileType.File}


def _copy(source: pafs.FileSystem, source_path: str, target: pafs.FileSystem, target_path: str) -> int:
    """Stream one file across filesystems; returns the bytes copied."""
    copied = 0
    with source.open_input_stream(source_path) as reader, target.open_output_stream(target_path) as writer:
        while chunk := reader.read(COPY_BUFFER):
            writer.write(chunk)
            copied += len(chunk)
    return copied


def mirror_raw(uri: str, local_dir: Path) -> Transfer:
    """Make local_dir hold exactly the files under a remote prefix, downloading only what changed.

    A downloaded file takes the object's modification time, so the next run's plan sees it as
    unchanged until the object changes.
    """
    filesystem, root = open_location(uri)
    remote = _files(filesystem, root)
    local_dir.mkdir(parents=True, exist_ok=True)
    local = {str(p.relative_to(local_dir).as_posix()): p for p in local_dir.rglob("*") if p.is_file()}
    copied = bytes_copied = unchanged = 0
    for relative, info in sorted(remote.items()):
        target = local_dir / relative
        stamp = info.mtime_ns or 0
        if relative in local and target.stat().st_size == info.size and target.stat().st_mtime_ns == stamp:
            unchanged += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        bytes_copied += _copy(filesystem, info.path, pafs.LocalFileSystem(), str(partial))
        os.utime(partial, ns=(stamp, stamp))
        partial.replace(target)
        copied += 1
    stale = [p for relative, p in local.items() if relative not in remote]
    for path in stale:
        path.unlink()
    return Transfer(copied, len(stale), unchanged, bytes_copied)


def publish(local_out: Path, uri: str, snapshot: str | None) -> Transfer:
    """Upload the current datasets under a remote prefix: new parts, then the manifest, then deletions.

    Readers that list a dataset's prefix during a publish may briefly see the old and the new parts
    together; the manifest (`_newsflow.json`) names exactly the parts of one snapshot.
    """
    filesystem, root = open_location(uri)
    remote = _files(filesystem, root)
    wanted: dict[str, Path] = {}
    for name in DATASETS:
        dataset = local_out / name
        if dataset.is_dir():
            wanted.update({f"{name}/{part.name}": part for part in sorted(dataset.glob("*.parquet"))})
    copied = bytes_copied = unchanged = 0
    for relative, part in wanted.items():
        info = remote.get(relative)
        if info is not None and info.size == part.stat().st_size:
            unchanged += 1
            continue
        bytes_copied += _copy(pafs.LocalFileSystem(), str(part), filesystem, f"{root}/{relative}")
        copied += 1
    manifest = {"snapshot": snapshot, "datasets": {name: sorted(r for r in wanted if r.startswith(f"{name}/"))
                                                   for name in DATASETS}}
    with filesystem.open_output_stream(f"{root}/{MANIFEST}") as writer:
        writer.write(json.dumps(manifest, indent=2).encode())
    stale = [r for r in remote if r != MANIFEST and r.split("/", 1)[0] in DATASETS and r not in wanted]
    for relative in stale:
        filesystem.delete_file(f"{root}/{relative}")
    return Transfer(copied, len(stale), unchanged, bytes_copied)
