"""File operations through Hadoop's FileSystem API, so the job treats ``s3://`` URIs (EMRFS on
Glue) and local paths alike: existence checks, listing data files, renames for the commit,
small text files for the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession


@dataclass(frozen=True)
class DataFile:
    """A file Spark would read: its URI and size in bytes."""

    uri: str
    size: int


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

    def rename(self, source: str, target: str) -> None:
        """Move ``source`` to ``target`` (whose parent is created); raise if the move fails."""
        source_path, fs = self._resolve(source)
        target_path, _ = self._resolve(target)
        fs.mkdirs(target_path.getParent())
        if not fs.rename(source_path, target_path):
            raise OSError(f"could not move {source} to {target}")

    def write_text(self, uri: str, text: str) -> None:
        """Write ``text`` (UTF-8) to the file ``uri``, replacing it."""
        path, fs = self._resolve(uri)
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

    def _resolve(self, uri: str) -> tuple[Any, Any]:
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        return path, path.getFileSystem(self._conf)


def join_uri(root: str, *parts: str) -> str:
    """``root`` and ``parts`` joined with single slashes (works for s3:// URIs and paths)."""
    return "/".join([root.rstrip("/"), *[part.strip("/") for part in parts]])
