"""Processes in a sandbox: exec, their output, stdin, wait, kill.

warrend keeps every byte a process writes (docs/api.md, "Output"), so each
reader reads from an offset of its own: ``process.stdout`` is a new reader
from the start each time it is taken, two readers never take output from
each other, and a stream read after the process ended still has all of it.
"""

import base64
import codecs
import http.client
import time
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from .exceptions import SandboxConnectionError, SandboxProcessError

if TYPE_CHECKING:
    from .sandbox import SandboxInstance

__all__ = [
    "SandboxProcess",
    "SandboxProcessStream",
    "SandboxProcessLogs",
    "SandboxProcessResponse",
    "SandboxProcessManager",
]

# A wait is asked of warrend in slices, so that no request stays silent for long.
_WAIT_SLICE_MS = 20000


def _exit_code_of(info: Dict[str, Any]) -> int:
    state = info.get("state")
    if state == "exited":
        return int(info.get("exit_code") or 0)
    if state == "signaled":
        return 128 + int(info.get("signal") or 0)
    return -1


class SandboxProcessStream:
    """One reader of a process's ``stdout`` or ``stderr``.

    Iterating it yields lines (with their ``\\n``) as the process writes them,
    until it ends; :meth:`read` returns what has been written so far and
    not yet read by this reader.  Text is decoded as UTF-8 (bad bytes
    replaced); :meth:`read_bytes` gives the bytes.
    """

    def __init__(self, process: "SandboxProcess", name: str):
        self.process = process
        self.name = name
        self.offset = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._follow: Optional[Any] = None

    def _path(self) -> str:
        return self.process._path("/output")

    def read_bytes(self) -> bytes:
        """The bytes written since this reader's offset, without waiting;
        moves the offset past them."""
        client = self.process.sandbox_instance.client
        with client.open(
            "GET",
            self._path(),
            {"stream": self.name, f"{self.name}_offset": self.offset, "follow": False},
            error=SandboxProcessError,
        ) as s:
            try:
                data = s.read()
            except (OSError, http.client.HTTPException) as e:
                raise SandboxConnectionError(f"reading {self.name} of {self.process.pid}: {e}", "unavailable") from e
        self.offset += len(data)
        return data

    def read(self) -> str:
        """What was written since this reader's offset, as text, without
        waiting for more."""
        return self._decoder.decode(self.read_bytes())

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._follow is None:
            client = self.process.sandbox_instance.client
            self._follow = client.open(
                "GET",
                self._path(),
                {"stream": self.name, f"{self.name}_offset": self.offset, "follow": True},
                error=SandboxProcessError,
                timeout=None,
            )
        try:
            line = self._follow.readline()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise SandboxConnectionError(f"following {self.name} of {self.process.pid}: {e}", "unavailable") from e
        if not line:
            self.close()
            tail = self._decoder.decode(b"", final=True)
            if tail:
                return tail
            raise StopIteration
        self.offset += len(line)
        return self._decoder.decode(line)

    def close(self) -> None:
        """Stops a line iteration in progress (its connection is closed)."""
        if self._follow is not None:
            self._follow.close()
            self._follow = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class SandboxProcessLogs:
    """One reader of both streams together, in the order the agent got the
    output (``process.logs``).  Iterating yields lines of either stream as
    they come; :meth:`read` returns all the output so far of both, in
    that order."""

    def __init__(self, process: "SandboxProcess"):
        self.process = process
        self.offsets = {"stdout": 0, "stderr": 0}
        self._decoders = {n: codecs.getincrementaldecoder("utf-8")("replace") for n in self.offsets}
        self._partial = {"stdout": "", "stderr": ""}
        self._ready: List[str] = []
        self._events: Optional[Iterator[Dict[str, Any]]] = None
        self._done = False

    def _query(self, follow: bool) -> Dict[str, Any]:
        return {
            "stream": "both",
            "stdout_offset": self.offsets["stdout"],
            "stderr_offset": self.offsets["stderr"],
            "follow": follow,
        }

    def _take(self, event: Dict[str, Any]) -> Optional[Tuple[str, str]]:
        if event.get("event") != "output":
            return None
        name = event.get("stream")
        if name not in self.offsets:
            return None
        data = base64.b64decode(event.get("data") or "")
        self.offsets[name] += len(data)
        return name, self._decoders[name].decode(data)

    def read(self) -> str:
        """All output since this reader's offsets, both streams in the
        order written, without waiting for more."""
        client = self.process.sandbox_instance.client
        parts = []
        for event in client.events("GET", self.process._path("/output"), self._query(False), error=SandboxProcessError):
            got = self._take(event)
            if got:
                parts.append(got[1])
        return "".join(parts)

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        while not self._ready:
            if self._done:
                raise StopIteration
            if self._events is None:
                client = self.process.sandbox_instance.client
                self._events = client.events(
                    "GET", self.process._path("/output"), self._query(True), error=SandboxProcessError
                )
            try:
                event = next(self._events)
            except StopIteration:
                self._done = True
                for name in ("stdout", "stderr"):
                    rest = self._partial[name] + self._decoders[name].decode(b"", final=True)
                    if rest:
                        self._ready.append(rest)
                    self._partial[name] = ""
                continue
            got = self._take(event)
            if not got:
                continue
            name, text = got
            buf = self._partial[name] + text
            lines = buf.split("\n")
            self._partial[name] = lines.pop()
            self._ready.extend(line + "\n" for line in lines)
        return self._ready.pop(0)


class SandboxProcess:
    """A process in a sandbox.

    Attributes:
        pid: warrend's id of the process (``"p7"``), a string.
        os_pid: its pid inside the sandbox.
        args: its argv.
        exit_code: ``-1`` while it runs; its exit code once it exited, or
            128 plus the signal's number when a signal ended it (``signal``
            then says which).
    """

    def __init__(
        self,
        sandbox_instance: "SandboxInstance",
        info: Dict[str, Any],
        cwd: Optional[str] = None,
        env: Optional[Dict[str, str]] = None,
    ):
        self.sandbox_instance = sandbox_instance
        self.pid: str = str(info.get("pid"))
        self.cwd = cwd
        self.env = env
        self._update(info)

    def _update(self, info: Dict[str, Any]) -> None:
        self.info: Dict[str, Any] = info
        self.os_pid: Optional[int] = info.get("os_pid")
        self.args: List[str] = list(info.get("argv") or [])
        self.exit_code: int = _exit_code_of(info)
        self.signal: Optional[int] = info.get("signal")

    def _path(self, tail: str = "") -> str:
        return f"/v1/sandboxes/{self.sandbox_instance.container_id}/processes/{self.pid}{tail}"

    def refresh(self) -> Dict[str, Any]:
        """Asks warrend for the process's state (``GET``) and returns its
        JSON (docs/api.md, Process)."""
        info = self.sandbox_instance.client.request("GET", self._path(), error=SandboxProcessError)
        self._update(info)
        return info

    def status(self) -> Tuple[int, str]:
        """``(exit_code, state)``: ``(-1, "running")`` while it runs, then
        ``(N, "exited")`` or ``(128+SIG, "signaled")``."""
        info = self.refresh()
        return self.exit_code, str(info.get("state"))

    def wait(self, timeout: Optional[float] = None) -> int:
        """Waits until the process ends and returns its exit code.  With a
        ``timeout`` (seconds) that passes first, raises
        :class:`SandboxProcessError` of kind ``unavailable``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        client = self.sandbox_instance.client
        while True:
            slice_ms = _WAIT_SLICE_MS
            if deadline is not None:
                left = int((deadline - time.monotonic()) * 1000)
                slice_ms = max(0, min(slice_ms, left))
            try:
                info = client.request(
                    "POST",
                    self._path("/wait"),
                    json_body={"timeout_ms": slice_ms},
                    error=SandboxProcessError,
                    timeout=slice_ms / 1000 + 60,
                )
            except SandboxProcessError as e:
                # The agent's answer when the slice passed; any other 503 (a
                # sandbox that stopped or failed) is raised.
                if e.kind == "unavailable" and e.status == 503 and "still runs" in e.message:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise SandboxProcessError(
                            f"process {self.pid} still runs after {timeout}s", "unavailable", e.status
                        ) from e
                    continue
                raise
            self._update(info)
            return self.exit_code

    def kill(self) -> None:
        """SIGKILL to the process's group."""
        self.sandbox_instance.client.request("POST", self._path("/kill"), error=SandboxProcessError)

    def signal_process(self, signal: int, group: bool = False) -> None:
        """Sends ``signal`` (1 to 64) to the process, or to its group."""
        self.sandbox_instance.client.request(
            "POST", self._path("/signal"), json_body={"signal": signal, "group": group}, error=SandboxProcessError
        )

    def send_stdin(self, data: Union[str, bytes], close: bool = False) -> None:
        """Writes ``data`` to the process's stdin (text as UTF-8);
        ``close=True`` closes it after.  The process must have been started
        with ``stdin=True``."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sandbox_instance.client.request(
            "POST", self._path("/stdin"), {"close": close}, body=bytes(data), error=SandboxProcessError
        )

    def close_stdin(self) -> None:
        """Closes the process's stdin (it reads end of file)."""
        self.send_stdin(b"", close=True)

    @property
    def stdout(self) -> SandboxProcessStream:
        """A new reader of its standard output, from the start."""
        return SandboxProcessStream(self, "stdout")

    @property
    def stderr(self) -> SandboxProcessStream:
        """A new reader of its standard error, from the start."""
        return SandboxProcessStream(self, "stderr")

    @property
    def logs(self) -> SandboxProcessLogs:
        """A new reader of both streams together, from the start."""
        return SandboxProcessLogs(self)

    def __repr__(self) -> str:
        return f"SandboxProcess(pid={self.pid!r}, args={self.args!r}, exit_code={self.exit_code})"


class SandboxProcessResponse:
    """A process that ended (``run_code(..., blocking=True)``).

    Attributes:
        pid: its id.
        exit_code: its exit code.
        stdout: what it wrote to stdout.
        stderr: what it wrote to stderr.
        result: stdout followed by stderr.
    """

    def __init__(self, pid: str, exit_code: int, stdout: str, stderr: str):
        self.pid: str = pid
        self.exit_code: int = exit_code
        self.stdout: str = stdout
        self.stderr: str = stderr
        self.result: str = stdout + stderr

    def __repr__(self) -> str:
        return f"SandboxProcessResponse(pid={self.pid!r}, exit_code={self.exit_code}, result={self.result!r})"


class SandboxProcessManager:
    """``sandbox.process``: runs processes and finds them again."""

    def __init__(self, sandbox_instance: "SandboxInstance"):
        self.sandbox_instance = sandbox_instance
        self.processes: Dict[str, SandboxProcess] = {}

    def _base(self) -> str:
        return f"/v1/sandboxes/{self.sandbox_instance.container_id}/processes"

    def exec(
        self,
        *args: Union[str, Sequence[str]],
        cwd: Optional[str] = None,
        env: Optional[Dict[str, str]] = None,
        stdin: bool = False,
        user: Optional[str] = None,
    ) -> SandboxProcess:
        """Starts a program (``exec("ls", "-la")``, or one list) and returns
        at once.  ``cwd`` defaults to the sandbox's working directory,
        ``env`` is added to the sandbox's environment; ``stdin=True`` keeps
        its stdin open for :meth:`SandboxProcess.send_stdin` (else it is
        ``/dev/null``); ``user`` is a name, a uid or ``uid:gid``.  A program
        that does not exist raises :class:`SandboxProcessError` (``not_found``).
        """
        if len(args) == 1 and isinstance(args[0], (list, tuple)):
            argv = list(args[0])
        else:
            argv = list(args)
        if not argv or any(not isinstance(a, str) for a in argv):
            raise SandboxProcessError("exec: give the program and its arguments as strings", "invalid")
        body: Dict[str, Any] = {"argv": argv}
        if cwd is not None:
            body["cwd"] = cwd
        if env:
            body["env"] = {str(k): str(v) for k, v in env.items()}
        if stdin:
            body["stdin"] = True
        if user is not None:
            body["user"] = str(user)
        return self._start(body, cwd, env)

    def _start(
        self, body: Dict[str, Any], cwd: Optional[str], env: Optional[Dict[str, str]], wait: bool = False
    ) -> SandboxProcess:
        timeout: Optional[float] = -1.0
        if wait:
            # One request that answers once the process ended (200), or
            # after a slice with it still running (201).
            body = dict(body, wait=True, timeout_ms=_WAIT_SLICE_MS)
            timeout = _WAIT_SLICE_MS / 1000 + 60
        info = self.sandbox_instance.client.request(
            "POST", self._base(), json_body=body, error=SandboxProcessError, timeout=timeout
        )
        process = SandboxProcess(self.sandbox_instance, info, cwd=cwd, env=env)
        self.processes[process.pid] = process
        return process

    def run_code(
        self,
        code: str,
        blocking: bool = True,
        cwd: Optional[str] = None,
        env: Optional[Dict[str, str]] = None,
    ) -> Union[SandboxProcessResponse, SandboxProcess]:
        """Runs Python code with the sandbox's ``python3 -c CODE``.  Blocking,
        returns a :class:`SandboxProcessResponse` once it ended; else the
        running :class:`SandboxProcess`."""
        if not blocking:
            return self.exec("python3", "-c", code, cwd=cwd, env=env)
        body: Dict[str, Any] = {"argv": ["python3", "-c", code]}
        if cwd is not None:
            body["cwd"] = cwd
        if env:
            body["env"] = {str(k): str(v) for k, v in env.items()}
        process = self._start(body, cwd, env, wait=True)
        if process.info.get("state") == "running":
            process.wait()
        return SandboxProcessResponse(process.pid, process.exit_code, process.stdout.read(), process.stderr.read())

    def list_processes(self) -> Dict[str, SandboxProcess]:
        """Every process warrend knows in the sandbox (running or ended),
        by pid."""
        answer = self.sandbox_instance.client.request("GET", self._base(), error=SandboxProcessError)
        out = {}
        for info in answer.get("processes", []):
            p = SandboxProcess(self.sandbox_instance, info)
            out[p.pid] = p
        return out

    def get_process(self, pid: str) -> SandboxProcess:
        """The process with this id; an unknown one raises
        :class:`SandboxProcessError` (``not_found``)."""
        info = self.sandbox_instance.client.request("GET", f"{self._base()}/{pid}", error=SandboxProcessError)
        return SandboxProcess(self.sandbox_instance, info)

    def forget(self, pid: str) -> None:
        """Forgets an ended process and its output (``DELETE``)."""
        self.sandbox_instance.client.request("DELETE", f"{self._base()}/{pid}", error=SandboxProcessError)
        self.processes.pop(pid, None)

