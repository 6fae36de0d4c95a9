"""File operations through Hadoop's FileSystem API, so the job treats ``s3://`` URIs (EMRFS on
Glue) and local paths alike: existence checks, listings, deletes, small text files (the report),
the bytes of small input files (CSV headers, the driver-side record count).

There is deliberately no rename or copy: on S3 both copy every byte, and the commit never
moves output data (see ``commit``).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession

_GLOB_CHARACTERS = re.compile(r"([{}\[\]*?\\])")


def literal_paths(uris: Sequence[str]) -> list[str]:
    """``uris`` as Spark's file readers take them literally. The readers expand Hadoop glob
    patterns in every path, so ``data[1].csv`` or ``x{1}.csv`` would not be found (or ``*.csv``
    would match other files): each pattern character is escaped with a backslash.
    """
    return [_GLOB_CHARACTERS.sub(r"\\\1", uri) for uri in uris]


@dataclass(frozen=True)
class DataFile:
    """A file Spark would read: its URI and size in bytes."""

    uri: str
    size: int


@dataclass(frozen=True)
class Entry:
    """A direct child of a folder: its URI, name, kind and last modification (epoch ms)."""

    uri: str
    name: str
    is_folder: bool
    modified_ms: int


class HadoopFileSystem:
    """Thin wrapper over ``org.apache.hadoop.fs.FileSystem`` for the session's configuration."""

    def __init__(self, spark: SparkSession) -> None:
        jvm = spark.sparkContext._jvm
        assert jvm is not None, "the SparkSession has no JVM gateway"
        self._jvm: Any = jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def exists(self, uri: str) -> bool:
        """Whether a file or folder exists at ``uri``."""
        path, fs = self._resolve(uri)
        return bool(fs.exists(path))

    def is_file(self, uri: str) -> bool:
        """Whether ``uri`` is an existing file."""
        path, fs = self._resolve(uri)
        return bool(fs.exists(path) and fs.getFileStatus(path).isFile())

    def data_files(self, uri: str) -> list[DataFile]:
        """Files under ``uri`` (recursively) that Spark reads: hidden ``_``/``.`` names skipped.

        ``uri`` may be a file, which is returned alone whatever its name.
        """
        path, fs = self._resolve(uri)
        status = fs.getFileStatus(path)
        if status.isFile():
            return [DataFile(str(status.getPath().toString()), int(status.getLen()))]
        root = str(status.getPath().toString()).rstrip("/")
        files: list[DataFile] = []
        iterator = fs.listFiles(path, True)
        while iterator.hasNext():
            item = iterator.next()
            full = str(item.getPath().toString())
            relative = full[len(root) :].lstrip("/")
            if any(part.startswith(("_", ".")) for part in relative.split("/")):
                continue
            files.append(DataFile(full, int(item.getLen())))
        return files

    def delete(self, uri: str) -> None:
        """Delete ``uri`` and everything under it; a missing path is fine."""
        path, fs = self._resolve(uri)
        if fs.exists(path):
            fs.delete(path, True)

    def delete_if_empty(self, uri: str) -> None:
        """Delete the folder ``uri`` if it holds nothing (a non-recursive delete: a file that
        appears meanwhile keeps it). S3 has no empty folders; a local disk keeps them."""
        path, fs = self._resolve(uri)
        if fs.exists(path) and fs.getFileStatus(path).isDirectory() and not fs.listStatus(path):
            try:
                fs.delete(path, False)
            except Exception:  # py4j wraps the JVM's "not empty": someone wrote into it
                return

    def children(self, uri: str) -> list[Entry]:
        """The direct children of the folder ``uri`` (none when it does not exist)."""
        path, fs = self._resolve(uri)
        if not fs.exists(path):
            return []
        return [
            Entry(
                uri=join_uri(uri, str(status.getPath().getName())),
                name=str(status.getPath().getName()),
                is_folder=bool(status.isDirectory()),
                modified_ms=int(status.getModificationTime()),
            )
            for status in fs.listStatus(path)
        ]

    def newest_modification_ms(self, uri: str) -> int:
        """Latest modification time (epoch ms) of the files under ``uri``, or of ``uri`` itself.

        S3 has no folders, so a "folder"'s own time means nothing there: its files' times do.
        """
        path, fs = self._resolve(uri)
        newest = 0
        iterator = fs.listFiles(path, True)
        while iterator.hasNext():
            newest = max(newest, int(iterator.next().getModificationTime()))
        return newest or int(fs.getFileStatus(path).getModificationTime())

    def write_text(self, uri: str, text: str) -> None:
        """Write ``text`` (UTF-8) to the file ``uri``, replacing it in one step.

        Readers see the old file or the new one, never a part: on S3 an object appears whole when
        its PUT completes; a local file is written beside the target and moved over it.
        """
        path, fs = self._resolve(uri)
        if str(fs.getUri().getScheme()) == "file":
            _replace_local_file(str(path.toUri().getPath()), text)
            return
        stream = fs.create(path, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()

    def read_text(self, uri: str) -> str:
        """The UTF-8 text of the file ``uri``."""
        path, fs = self._resolve(uri)
        stream = fs.open(path)
        reader = self._jvm.java.io.BufferedReader(
            self._jvm.java.io.InputStreamReader(stream, "UTF-8")
        )
        try:
            lines = []
            line = reader.readLine()
            while line is not None:
                lines.append(line)
                line = reader.readLine()
            return "\n".join(lines)
        finally:
            reader.close()

    def read_bytes(self, uri: str, limit: int | None = None, *, decompress: bool = False) -> bytes:
        """The bytes of the file ``uri``, or its first ``limit`` bytes. With ``decompress``,
        read through the codec Hadoop picks by the file's extension (gzip, bzip2), as Spark's
        readers do; else as stored.
        """
        path, fs = self._resolve(uri)
        stream = fs.open(path)
        if decompress:
            factory = self._jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(self._conf)
            codec = factory.getCodec(path)
            if codec is not None:
                stream = codec.createInputStream(stream)
        try:
            # java.io.InputStream's own bulk reads (Java 11+): one gateway call, bytes back.
            data = stream.readAllBytes() if limit is None else stream.readNBytes(limit)
            return bytes(data)
        finally:
            stream.close()

    def _resolve(self, uri: str) -> tuple[Any, Any]:
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        return path, path.getFileSystem(self._conf)


def _replace_local_file(target: str, text: str) -> None:
    # A small metadata file, not output data: the one place a file is moved, and only locally.
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def join_uri(root: str, *parts: str) -> str:
    """``root`` and ``parts`` joined with single slashes (works for s3:// URIs and paths)."""
    return "/".join([root.rstrip("/"), *[part.strip("/") for part in parts]])
