"""Build contexts: a local directory sent to warrend as a tar archive for
a Dockerfile's ``COPY`` (``POST /v1/contexts``, docs/api.md).

The archive holds the directory's files, directories and symlinks (owners
set to root, as Docker's build does), sorted, without what the directory's
``.dockerignore`` excludes: one pattern per line, ``#`` comments, ``*``,
``?``, ``[...]`` within a name, ``**`` across directories, ``!`` to take
back an exclusion; the last pattern that matches a path decides, and a
pattern that matches a directory matches what is in it.
"""

import os
import re
import stat
import tarfile
import tempfile
from typing import IO, List, Optional, Tuple

from .client import Client
from .exceptions import ImageBuildError

_Pattern = Tuple[bool, "re.Pattern[str]"]


def _pattern_regex(pattern: str) -> "re.Pattern[str]":
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            if i < len(pattern) and pattern[i] == "/":
                i += 1
                out.append("/?" if out[-1] == ".*" else "/")
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body.startswith("!") or body.startswith("^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def read_dockerignore(context_dir: str) -> List[_Pattern]:
    """The patterns of ``context_dir``'s ``.dockerignore`` (none when it
    has none), as ``(exclude, regex)`` pairs in order."""
    path = os.path.join(context_dir, ".dockerignore")
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise ImageBuildError(f"`{path}`: {e.strerror}", "invalid") from e
    patterns: List[_Pattern] = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        if not exclude:
            line = line[1:].strip()
        line = os.path.normpath(line.lstrip("/")).replace(os.sep, "/")
        if line in (".", ""):
            continue
        patterns.append((exclude, _pattern_regex(line)))
    return patterns


def excluded(path: str, patterns: List[_Pattern]) -> bool:
    """Whether ``path`` (relative, ``/``-separated) is left out."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for exclude, regex in patterns:
        if any(regex.match(p) for p in prefixes):
            result = exclude
    return result


def _walk(context_dir: str, patterns: List[_Pattern]) -> List[str]:
    names: List[str] = []

    def visit(rel: str) -> None:
        full = os.path.join(context_dir, rel) if rel else context_dir
        try:
            entries = sorted(os.listdir(full))
        except OSError as e:
            raise ImageBuildError(f"build context: `{full}`: {e.strerror}", "invalid") from e
        for name in entries:
            child = f"{rel}/{name}" if rel else name
            st = os.lstat(os.path.join(context_dir, child))
            # A directory left out may still hold a file taken back with `!`.
            if not excluded(child, patterns):
                names.append(child)
            if stat.S_ISDIR(st.st_mode):
                visit(child)

    visit("")
    return names


def make_tar(context_dir: str) -> IO[bytes]:
    """A temporary file (at its start) holding the archive of
    ``context_dir``; close it when done."""
    patterns = read_dockerignore(context_dir)
    out = tempfile.TemporaryFile()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in _walk(context_dir, patterns):
            full = os.path.join(context_dir, rel)
            st = os.lstat(full)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                continue
            info = tar.gettarinfo(full, arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if info.isfile():
                with open(full, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    out.seek(0)
    return out


def upload(client: Client, context_dir: str) -> str:
    """Sends ``context_dir`` to warrend and returns the context's digest
    (``sha256:...``) for the create body's ``image.context``."""
    with make_tar(context_dir) as f:
        answer = client.request("POST", "/v1/contexts", body=f, error=ImageBuildError)
    digest: Optional[str] = answer.get("context") if isinstance(answer, dict) else None
    if not digest:
        raise ImageBuildError("POST /v1/contexts: the answer has no context", "internal")
    return digest
