"""The exceptions the SDK raises.

Every error warrend answers is JSON, ``{"error": {"kind": ..., "message": ...}}``
(docs/api.md, "Errors"); the SDK raises it as one of the classes below, chosen
by the call's area (a file call raises :class:`SandboxFileSystemError`, a
process call :class:`SandboxProcessError`...), with the server's ``kind``,
its HTTP ``status`` and its ``message`` kept as attributes.  Errors the SDK
finds itself (an argument it cannot honour, a socket that does not answer)
carry ``status=None`` and a kind of the same vocabulary (``invalid``,
``unavailable``...).
"""

from typing import Optional

__all__ = [
    "SandboxError",
    "SandboxConnectionError",
    "SandboxProcessError",
    "SandboxFileSystemError",
    "ImageBuildError",
    "DockerDaemonNotReadyError",
    "DockerCommandError",
]


class SandboxError(Exception):
    """The base of every error the SDK raises.

    Attributes:
        message: the server's message (or the SDK's own), naming the object.
        kind: the error's kind: ``invalid``, ``not_found``, ``exists``,
            ``limit``, ``too_many`` (a per-client limit: retry later),
            ``unavailable``, ``cancelled``, ``internal`` or ``unauthorized``
            (docs/api.md).
        status: the HTTP status of the answer, or ``None`` when the error
            did not come from an answer.
    """

    def __init__(self, message: str, kind: str = "internal", status: Optional[int] = None):
        super().__init__(message)
        self.message: str = message
        self.kind: str = kind
        self.status: Optional[int] = status

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, kind={self.kind!r}, status={self.status!r})"


class SandboxConnectionError(SandboxError):
    """warrend cannot be reached, refused the token, or a sandbox call failed
    (create, connect, list, lifetime, ports, network)."""


class SandboxProcessError(SandboxError):
    """A process call failed: exec of a program that does not exist, an
    unknown process, a wait that timed out, stdin to a process without it."""


class SandboxFileSystemError(SandboxError):
    """A file call failed: a path that does not exist, a directory where a
    file was expected, a local file that cannot be read."""


class ImageBuildError(SandboxError):
    """An image could not be pulled or built (a bad reference, a refused
    build step, a Dockerfile warrend does not take)."""


class DockerDaemonNotReadyError(SandboxError):
    """The sandbox's dockerd is not there or did not get ready: the sandbox
    was created without ``docker_enabled=True``, or dockerd failed or did not
    answer in time (the server's message carries its last log lines)."""

    def __init__(
        self,
        message: str = "the Docker daemon is not ready",
        kind: str = "unavailable",
        status: Optional[int] = None,
        timeout: Optional[float] = None,
    ):
        super().__init__(message, kind, status)
        self.timeout: Optional[float] = timeout


class DockerCommandError(SandboxError):
    """A Docker command in the sandbox ended with a non-zero exit code.

    Attributes:
        command: the command line, as run in the sandbox.
        exit_code: its exit code.
        stderr: what it wrote to its standard error.
    """

    def __init__(self, command: str, exit_code: int, stderr: str, kind: str = "invalid"):
        message = f"`{command}` exited with {exit_code}"
        tail = stderr.strip()
        if tail:
            message += ": " + tail[-2000:]
        super().__init__(message, kind, None)
        self.command: str = command
        self.exit_code: int = exit_code
        self.stderr: str = stderr
