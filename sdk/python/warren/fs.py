"""Files in a sandbox (``sandbox.fs``): upload, download, stat, list, make,
remove, find and replace.

Paths are paths inside the sandbox, resolved there by its agent: ``..`` and
symlinks never leave it.  Modes are numbers, written in octal: ``0o644``.
Uploads and downloads stream (a file of any size takes no more memory than
a buffer); an upload is written to a temporary file renamed over the path.
"""

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Dict, List, Optional, Union

from .exceptions import SandboxFileSystemError

if TYPE_CHECKING:
    from .sandbox import SandboxInstance

__all__ = [
    "SandboxFileSystem",
    "SandboxFileInfo",
    "SandboxFilePosition",
    "SandboxFileSearchRange",
    "SandboxFileSearchMatch",
    "SandboxFileSearchResult",
]

_CHUNK = 1 << 20


@dataclass
class SandboxFileInfo:
    """What ``stat_file`` and ``list_files`` say of a file.

    Attributes:
        name: the path as asked (``stat_file``), or relative to the listed
            directory (``list_files``).
        is_dir: whether it is a directory.
        size: its size in bytes.
        mode: its permission bits (``0o644``).
        mod_time: its modification time, seconds since the epoch (``0``
            when unknown).
        permissions: the same as ``mode``.
        owner: its uid, as a string.
        group: its gid, as a string.
        file_type: ``file``, ``directory``, ``symlink``...
        uid, gid: its owner and group as numbers.
        target: a symlink's target.
        path: the path warrend answered.
    """

    name: str
    is_dir: bool
    size: int
    mode: int
    mod_time: int
    permissions: int
    owner: str
    group: str
    file_type: str = "file"
    uid: int = 0
    gid: int = 0
    target: Optional[str] = None
    path: str = ""

    @classmethod
    def from_json(cls, info: Dict[str, Any], name: Optional[str] = None) -> "SandboxFileInfo":
        """From warrend's FileInfo (docs/api.md)."""
        mode = int(info.get("mode") or 0) & 0o7777
        mtime = info.get("mtime_ms")
        return cls(
            name=name if name is not None else str(info.get("path", "")),
            is_dir=info.get("file_type") == "directory",
            size=int(info.get("size") or 0),
            mode=mode,
            mod_time=int(mtime) // 1000 if mtime is not None else 0,
            permissions=mode,
            owner=str(info.get("uid", "")),
            group=str(info.get("gid", "")),
            file_type=str(info.get("file_type", "")),
            uid=int(info.get("uid") or 0),
            gid=int(info.get("gid") or 0),
            target=info.get("target"),
            path=str(info.get("path", "")),
        )

    def __str__(self) -> str:
        return (
            f"SandboxFileInfo(name='{self.name}', is_dir={self.is_dir}, size={self.size}, "
            f"mode={oct(self.mode)}, mod_time={self.mod_time}, owner='{self.owner}', group='{self.group}')"
        )


@dataclass
class SandboxFilePosition:
    """A position in a file: line and column, both from 1 (columns in bytes)."""

    line: int
    column: int


@dataclass
class SandboxFileSearchRange:
    """Where a match is: from ``start`` to ``end`` (``end`` just past it)."""

    start: SandboxFilePosition
    end: SandboxFilePosition


@dataclass
class SandboxFileSearchMatch:
    """One match: its range, and the text of the line it is on."""

    range: SandboxFileSearchRange
    content: str


@dataclass
class SandboxFileSearchResult:
    """The matches in one file."""

    path: str
    matches: List[SandboxFileSearchMatch] = field(default_factory=list)


def _octal(mode: int) -> str:
    if not isinstance(mode, int) or isinstance(mode, bool) or mode < 0 or mode > 0o7777:
        raise SandboxFileSystemError(f"mode {mode!r}: give permission bits as a number, like 0o644", "invalid")
    return format(mode, "04o")


def _match_end(pattern: Optional["re.Pattern[str]"], text: str, column: int) -> int:
    """The column just past the match at ``column`` (Python's re standing in
    for the agent's POSIX regex; the start when they disagree)."""
    if pattern is None:
        return column
    raw = text.encode("utf-8")
    prefix = raw[: column - 1].decode("utf-8", "replace")
    m = pattern.match(text, len(prefix))
    if m is None:
        return column
    return column + len(text[m.start() : m.end()].encode("utf-8"))


class SandboxFileSystem:
    """``sandbox.fs``: the files of one sandbox."""

    def __init__(self, sandbox_instance: "SandboxInstance"):
        self.sandbox_instance = sandbox_instance

    def _path(self, tail: str) -> str:
        return f"/v1/sandboxes/{self.sandbox_instance.container_id}/files/{tail}"

    def _request(self, method: str, tail: str, query: Any = None, json_body: Any = None, body: Any = None) -> Any:
        return self.sandbox_instance.client.request(
            method, self._path(tail), query, json_body, body, error=SandboxFileSystemError
        )

    # ---- contents ----

    def write_bytes(self, sandbox_path: str, data: Union[bytes, BinaryIO], mode: int = 0o644, parents: bool = True, append: bool = False) -> SandboxFileInfo:
        """Writes ``data`` (bytes, or a binary file read to its end) to
        ``sandbox_path`` with ``mode``; ``parents`` makes missing
        directories, ``append`` adds to the end of an existing file.
        Returns the file's info."""
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        info = self._request(
            "PUT",
            "content",
            {"path": sandbox_path, "mode": _octal(mode), "parents": parents, "append": append or None},
            body=data,
        )
        return SandboxFileInfo.from_json(info, sandbox_path)

    def write_text(self, sandbox_path: str, text: str, mode: int = 0o644, encoding: str = "utf-8", parents: bool = True) -> SandboxFileInfo:
        """Writes ``text`` (encoded with ``encoding``) to ``sandbox_path``."""
        return self.write_bytes(sandbox_path, text.encode(encoding), mode=mode, parents=parents)

    def read_bytes(self, sandbox_path: str, offset: Optional[int] = None, length: Optional[int] = None) -> bytes:
        """The file's contents (from ``offset``, at most ``length`` bytes)."""
        with self.sandbox_instance.client.open(
            "GET",
            self._path("content"),
            {"path": sandbox_path, "offset": offset, "length": length},
            error=SandboxFileSystemError,
        ) as s:
            return s.read()

    def read_text(self, sandbox_path: str, encoding: str = "utf-8") -> str:
        """The file's contents as text."""
        return self.read_bytes(sandbox_path).decode(encoding)

    def upload_file(self, local_path: str, sandbox_path: str, mode: Optional[int] = None) -> SandboxFileInfo:
        """Uploads the local file to ``sandbox_path`` (streamed; parent
        directories made).  ``mode`` defaults to the local file's
        permission bits."""
        try:
            f = open(local_path, "rb")
        except OSError as e:
            raise SandboxFileSystemError(
                f"upload_file: `{local_path}`: {e.strerror}",
                "not_found" if isinstance(e, FileNotFoundError) else "invalid",
            ) from e
        with f:
            if mode is None:
                mode = os.fstat(f.fileno()).st_mode & 0o7777
            return self.write_bytes(sandbox_path, f, mode=mode)

    def download_file(self, sandbox_path: str, local_path: str) -> int:
        """Downloads ``sandbox_path`` to the local file (streamed, written to
        a temporary name renamed once complete).  Returns the bytes written."""
        tmp = f"{local_path}.warren-part-{os.getpid()}"
        total = 0
        with self.sandbox_instance.client.open(
            "GET", self._path("content"), {"path": sandbox_path}, error=SandboxFileSystemError
        ) as s:
            try:
                with open(tmp, "wb") as out:
                    while True:
                        chunk = s.read(_CHUNK)
                        if not chunk:
                            break
                        out.write(chunk)
                        total += len(chunk)
                os.replace(tmp, local_path)
            except OSError as e:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise SandboxFileSystemError(f"download_file: `{local_path}`: {e.strerror or e}", "invalid") from e
        return total

    # ---- metadata ----

    def stat_file(self, sandbox_path: str, follow_symlinks: bool = False) -> SandboxFileInfo:
        """The file's info; a path that does not exist raises
        :class:`SandboxFileSystemError` (``not_found``)."""
        info = self._request("GET", "stat", {"path": sandbox_path, "follow_symlinks": follow_symlinks})
        return SandboxFileInfo.from_json(info, sandbox_path)

    def exists(self, sandbox_path: str) -> bool:
        """Whether the path exists."""
        try:
            self.stat_file(sandbox_path)
            return True
        except SandboxFileSystemError as e:
            if e.kind == "not_found":
                return False
            raise

    def list_files(self, sandbox_path: str, recursive: bool = False, limit: Optional[int] = None) -> List[SandboxFileInfo]:
        """The entries of a directory (their names relative to it)."""
        answer = self._request("GET", "list", {"path": sandbox_path, "recursive": recursive, "limit": limit})
        return [SandboxFileInfo.from_json(e, str(e.get("path", ""))) for e in answer.get("entries", [])]

    def chmod(self, sandbox_path: str, mode: int) -> None:
        """Sets the permission bits (``0o755``)."""
        self._request("POST", "chmod", json_body={"path": sandbox_path, "mode": int(_octal(mode), 8)})

    def rename(self, source: str, target: str, replace: bool = False) -> None:
        """Renames ``source`` to ``target`` (``replace`` an existing one)."""
        self._request("POST", "rename", json_body={"from": source, "to": target, "replace": replace})

    # ---- directories and removal ----

    def create_directory(self, sandbox_path: str, mode: int = 0o755, parents: bool = True) -> None:
        """Makes a directory (and, with ``parents``, those above it; an
        existing directory is then no error)."""
        self._request("POST", "mkdir", json_body={"path": sandbox_path, "mode": int(_octal(mode), 8), "parents": parents})

    def delete_directory(self, sandbox_path: str) -> None:
        """Removes a directory and everything in it; a path that is not a
        directory raises :class:`SandboxFileSystemError` (``invalid``)."""
        info = self.stat_file(sandbox_path)
        if not info.is_dir:
            raise SandboxFileSystemError(f"delete_directory: `{sandbox_path}` is not a directory", "invalid")
        self._request("POST", "remove", json_body={"path": sandbox_path, "recursive": True})

    def delete_file(self, sandbox_path: str) -> None:
        """Removes a file (not a directory: that raises
        :class:`SandboxFileSystemError`, ``invalid``)."""
        info = self.stat_file(sandbox_path)
        if info.is_dir:
            raise SandboxFileSystemError(f"delete_file: `{sandbox_path}` is a directory", "invalid")
        self._request("POST", "remove", json_body={"path": sandbox_path, "recursive": False})

    def remove(self, sandbox_path: str, recursive: bool = False) -> None:
        """Removes a file or an empty directory (any directory with
        ``recursive``)."""
        self._request("POST", "remove", json_body={"path": sandbox_path, "recursive": recursive})

    # ---- search ----

    def find_in_files(
        self,
        sandbox_path: str,
        pattern: str,
        glob: Optional[str] = None,
        ignore_case: bool = False,
        max_matches: Optional[int] = None,
    ) -> List[SandboxFileSearchResult]:
        """Searches the files under ``sandbox_path`` for ``pattern`` (a POSIX
        extended regular expression), ``glob`` filtering file names.  One
        result per file with matches, in the agent's order."""
        body: Dict[str, Any] = {"path": sandbox_path, "pattern": pattern}
        if glob is not None:
            body["glob"] = glob
        if ignore_case:
            body["ignore_case"] = True
        if max_matches is not None:
            body["max_matches"] = max_matches
        answer = self._request("POST", "find", json_body=body)
        try:
            local_re: Optional["re.Pattern[str]"] = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
        except re.error:
            local_re = None
        results: Dict[str, SandboxFileSearchResult] = {}
        for m in answer.get("matches", []):
            path = str(m.get("path", ""))
            line, column, text = int(m.get("line", 0)), int(m.get("column", 0)), str(m.get("text", ""))
            end = _match_end(local_re, text, column)
            match = SandboxFileSearchMatch(
                range=SandboxFileSearchRange(SandboxFilePosition(line, column), SandboxFilePosition(line, end)),
                content=text,
            )
            results.setdefault(path, SandboxFileSearchResult(path=path)).matches.append(match)
        return list(results.values())

    def replace_in_files(
        self,
        sandbox_path: str,
        old_string: str,
        new_string: str,
        regex: bool = False,
        glob: Optional[str] = None,
        ignore_case: bool = False,
    ) -> Dict[str, int]:
        """Replaces ``old_string`` with ``new_string`` in every file under
        ``sandbox_path``.  Both are literal text unless ``regex=True``
        (``old_string`` a POSIX extended regular expression, ``new_string``
        naming groups as ``\\1``).  Returns ``{"files": N, "replacements": N}``."""
        if not old_string:
            raise SandboxFileSystemError("replace_in_files: old_string is empty", "invalid")
        pattern, replacement = old_string, new_string
        if not regex:
            pattern = re.sub(r"([.\[\]{}()*+?^$|\\])", r"\\\1", old_string)
            replacement = new_string.replace("\\", "\\\\")
        body: Dict[str, Any] = {"path": sandbox_path, "pattern": pattern, "replacement": replacement}
        if glob is not None:
            body["glob"] = glob
        if ignore_case:
            body["ignore_case"] = True
        answer = self._request("POST", "replace", json_body=body)
        return {"files": int(answer.get("files", 0)), "replacements": int(answer.get("replacements", 0))}
