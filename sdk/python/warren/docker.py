"""Docker in a Docker-enabled sandbox (``sandbox.docker``).

Each call runs on warrend's Docker routes (``POST
/v1/sandboxes/{id}/docker/pull`` and the others: ndjson events of the
command's output ending with its exit status) when warrend has them, else
as the ``docker`` command line inside the sandbox (``sandbox.process.exec``,
once warrend said the sandbox's dockerd is ready); ``backend`` chooses.
Either way it returns a :class:`DockerResult`, with ``wait()``,
``success``, ``stdout``, ``stderr`` and ``logs()``.  Unlike beta9's, no
argument is silently ignored: one that cannot be honoured raises
(``TypeError`` for an unknown one, :class:`DockerCommandError` of kind
``invalid`` for a value).

``sandbox.docker.host`` is the sandbox dockerd's socket on warrend's host,
as a ``unix://`` URL for docker-py (``docker.DockerClient(base_url=...)``) or
``docker -H``.
"""

import base64
import codecs
import os
import shlex
import threading
import uuid
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from .exceptions import DockerCommandError, DockerDaemonNotReadyError, SandboxError
from .process import SandboxProcess, SandboxProcessStream

if TYPE_CHECKING:
    from .sandbox import SandboxInstance

__all__ = ["SandboxDockerManager", "DockerResult", "DockerOutput"]

# Compose: the v2 plugin when the image has it, else docker-compose.
_COMPOSE = (
    'if docker compose version >/dev/null 2>&1; then exec docker compose "$@"; '
    'elif command -v docker-compose >/dev/null 2>&1; then exec docker-compose "$@"; '
    'else echo "neither docker compose nor docker-compose is installed in the sandbox" >&2; exit 127; fi'
)


class DockerOutput(str):
    """A command's whole output: a ``str`` (beta9's ``result.stdout`` is
    one) that also has ``read()``, so ``result.stdout.read()`` works too."""

    def read(self) -> str:
        """The text itself."""
        return str(self)


class _ProcessSource:
    """A Docker command run as a process in the sandbox (the CLI)."""

    def __init__(self, process: SandboxProcess):
        self.process: Optional[SandboxProcess] = process

    def wait(self, timeout: Optional[float]) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def text(self, name: str) -> str:
        assert self.process is not None
        return SandboxProcessStream(self.process, name).read()

    def lines(self, name: Optional[str]) -> Iterator[str]:
        assert self.process is not None
        if name is None:
            return iter(self.process.logs)
        return iter(SandboxProcessStream(self.process, name))


class _EventSource:
    """A Docker route of warrend's: its ndjson events (output, result, end)
    read on a thread of their own as they come."""

    def __init__(self, events: Iterator[Dict[str, Any]], failure_exit: int = 1):
        self.process: Optional[SandboxProcess] = None
        self.chunks: List[Tuple[str, bytes]] = []
        self.result: Dict[str, Any] = {}
        self.end: Dict[str, Any] = {}
        self.exit_code: Optional[int] = None
        self._failure_exit = failure_exit
        self._cond = threading.Condition()
        self._events = events
        threading.Thread(target=self._read, daemon=True).start()

    def _take(self, event: Dict[str, Any]) -> None:
        kind = event.get("event")
        with self._cond:
            if kind == "output" and event.get("stream") in ("stdout", "stderr"):
                self.chunks.append((str(event["stream"]), base64.b64decode(event.get("data") or "")))
            elif kind == "result":
                self.result = event
            elif kind == "end":
                self.end = event
                self.exit_code = int(event.get("exit_code", self._failure_exit))
            self._cond.notify_all()

    def _finish(self, error: Optional[BaseException]) -> None:
        with self._cond:
            if error is not None:
                self.chunks.append(("stderr", (str(error) + "\n").encode()))
            if self.exit_code is None:
                self.exit_code = self._failure_exit
            self._cond.notify_all()

    def _read(self) -> None:
        try:
            for event in self._events:
                self._take(event)
            self._finish(None)
        except Exception as e:  # the stream broke or ended with an error line
            self._finish(e)

    def wait(self, timeout: Optional[float]) -> int:
        with self._cond:
            if not self._cond.wait_for(lambda: self.exit_code is not None, timeout):
                raise DockerCommandError("docker", -1, f"still running after {timeout}s", kind="unavailable")
            assert self.exit_code is not None
            return self.exit_code

    def text(self, name: str) -> str:
        with self._cond:
            return b"".join(c for n, c in self.chunks if n == name).decode("utf-8", "replace")

    def lines(self, name: Optional[str]) -> Iterator[str]:
        index = 0
        partial = {"stdout": "", "stderr": ""}
        decoders = {n: codecs.getincrementaldecoder("utf-8")("replace") for n in partial}
        while True:
            with self._cond:
                self._cond.wait_for(lambda: index < len(self.chunks) or self.exit_code is not None)
                batch = self.chunks[index:]
                index = len(self.chunks)
                ended = self.exit_code is not None and index == len(self.chunks)
            for n, data in batch:
                if name is not None and n != name:
                    continue
                parts = (partial[n] + decoders[n].decode(data)).split("\n")
                partial[n] = parts.pop()
                for line in parts:
                    yield line + "\n"
            if ended:
                for n in ("stdout", "stderr"):
                    if partial[n]:
                        yield partial[n]
                return


class DockerResult:
    """A Docker command running (or run) in the sandbox.

    Attributes:
        process: the :class:`SandboxProcess` of the command when it ran as
            the docker CLI in the sandbox; ``None`` when warrend's Docker
            routes ran it.
        command: its argv (the docker command line it stands for).
    """

    def __init__(
        self,
        source: Union[SandboxProcess, _ProcessSource, _EventSource],
        command: List[str],
        extract_output: Optional[Callable[[str], str]] = None,
        filter_stdout: Optional[Callable[[str], str]] = None,
    ):
        if isinstance(source, SandboxProcess):
            source = _ProcessSource(source)
        self._source = source
        self.process: Optional[SandboxProcess] = source.process
        self.command = command
        self._extract = extract_output
        self._filter = filter_stdout
        self._exit_code: Optional[int] = None

    @property
    def via_routes(self) -> bool:
        """Whether warrend's Docker routes ran it (else the CLI did)."""
        return isinstance(self._source, _EventSource)

    @property
    def result(self) -> Dict[str, Any]:
        """A route's structured result (``{"containers": [...]}`` of ``ps``,
        ``{"images": [...]}``...) once it ended; ``{}`` from the CLI."""
        self.wait()
        return self._source.result if isinstance(self._source, _EventSource) else {}

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Waits for the command to end; ``True`` when it exited with 0."""
        if self._exit_code is None:
            self._exit_code = self._source.wait(timeout)
        return self._exit_code == 0

    @property
    def exit_code(self) -> int:
        """Its exit code (waits for it)."""
        self.wait()
        assert self._exit_code is not None
        return self._exit_code

    @property
    def success(self) -> bool:
        """Whether it exited with 0 (waits for it)."""
        return self.wait()

    @property
    def stdout(self) -> DockerOutput:
        """All its standard output (waits for it to end)."""
        self.wait()
        text = self._source.text("stdout")
        return DockerOutput(self._filter(text) if self._filter else text)

    @property
    def stderr(self) -> DockerOutput:
        """All its standard error (waits for it to end)."""
        self.wait()
        return DockerOutput(self._source.text("stderr"))

    @property
    def output(self) -> str:
        """Its main result (a detached container's id...), or its stdout
        stripped (waits for it to end)."""
        text = self.stdout.strip()
        return self._extract(text) if self._extract else text

    def logs(self) -> Iterator[str]:
        """Its output lines, stdout and stderr, as they come (Docker writes
        progress to either)."""
        return self._source.lines(None)

    def stream(self, name: str = "stdout") -> Iterator[str]:
        """The lines of one of its streams as they come."""
        return self._source.lines(name)

    def check(self) -> "DockerResult":
        """Waits, and raises :class:`DockerCommandError` unless it exited
        with 0; returns itself."""
        if not self.wait():
            raise DockerCommandError(shlex.join(self.command), self.exit_code, self.stderr)
        return self

    def lines(self) -> List[str]:
        """Its stdout's non-empty lines (``ps(quiet=True)``'s ids...)."""
        return [ln for ln in self.stdout.splitlines() if ln.strip()]

    def __bool__(self) -> bool:
        return self.success

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines())

    def __str__(self) -> str:
        return self.output

    def __repr__(self) -> str:
        state = "running" if self._exit_code is None else f"exit {self._exit_code}"
        return f"DockerResult({shlex.join(self.command)!r}, {state})"


def _no_extra(call: str, kwargs: Dict[str, Any]) -> None:
    if kwargs:
        raise TypeError(f"docker.{call}: unsupported argument(s): {', '.join(sorted(kwargs))}")


class SandboxDockerManager:
    """``sandbox.docker``: Docker commands in one sandbox.

    Args:
        sandbox_instance: the sandbox.
        daemon_timeout: seconds to wait for dockerd to be ready.

    Attributes:
        backend: ``"auto"`` (the default, or ``$WARREN_DOCKER_BACKEND``):
            warrend's Docker routes (``/v1/sandboxes/{id}/docker/...``) when
            it has them, found on the first call, else the docker CLI in
            the sandbox; ``"routes"`` or ``"cli"`` to choose.  A call whose
            arguments a route does not take (``pull(quiet=True)``,
            ``run(pid=...)``, ``build(quiet=True)``, networks,
            ``compose_build``) runs the CLI either way.
    """

    def __init__(self, sandbox_instance: "SandboxInstance", daemon_timeout: float = 30):
        self.sandbox_instance = sandbox_instance
        self._daemon_timeout = daemon_timeout
        self._ready = False
        self.backend: str = os.environ.get("WARREN_DOCKER_BACKEND", "auto")
        self._routes: Optional[bool] = None

    # ---- the daemon ----

    @property
    def host(self) -> str:
        """``unix://`` and the host path of the sandbox dockerd's socket;
        a sandbox without Docker raises :class:`DockerDaemonNotReadyError`."""
        path = self.socket_path
        return "unix://" + path

    @property
    def socket_path(self) -> str:
        """The host path of the sandbox dockerd's socket."""
        info = self.sandbox_instance.info
        if "docker_socket" not in info:
            info = self.sandbox_instance.refresh()
        path = info.get("docker_socket")
        if not path:
            raise DockerDaemonNotReadyError(
                f"sandbox {self.sandbox_instance.container_id} has no Docker (create it with docker_enabled=True)",
                "invalid",
            )
        return str(path)

    def wait_ready(self) -> float:
        """Waits until warrend says dockerd answers; returns how long dockerd
        took to start (seconds, warren-init's measurement).  A sandbox without
        Docker, or a dockerd that failed, raises
        :class:`DockerDaemonNotReadyError` with the server's message."""
        inst = self.sandbox_instance
        info = inst.info if "docker_enabled" in inst.info else inst.refresh()
        if not info.get("docker_enabled"):
            raise DockerDaemonNotReadyError(
                f"sandbox {inst.container_id} was created without docker_enabled=True", "invalid"
            )
        took = 0.0
        try:
            for event in inst.client.events(
                "GET", f"/v1/sandboxes/{inst.container_id}/docker", error=DockerDaemonNotReadyError,
                timeout=self._daemon_timeout + 30,
            ):
                if event.get("event") == "docker.ready":
                    took = float(event.get("took_ms") or 0) / 1000
                    self._ready = True
        except SandboxError as e:
            if isinstance(e, DockerDaemonNotReadyError):
                e.timeout = self._daemon_timeout
                raise
            raise DockerDaemonNotReadyError(e.message, e.kind, e.status, self._daemon_timeout) from None
        if not self._ready:
            raise DockerDaemonNotReadyError(
                f"sandbox {inst.container_id}: dockerd did not get ready", "unavailable", None, self._daemon_timeout
            )
        return took

    def _ensure_ready(self) -> None:
        if not self._ready:
            self.wait_ready()

    def _exec(self, argv: List[str], cwd: Optional[str] = None, env: Optional[Dict[str, str]] = None) -> SandboxProcess:
        self._ensure_ready()
        return self.sandbox_instance.process.exec(*argv, cwd=cwd, env=env)

    def _result(self, argv: List[str], cwd: Optional[str] = None, extract: Optional[Callable[[str], str]] = None) -> DockerResult:
        return DockerResult(self._exec(argv, cwd=cwd), argv, extract)

    def _done(self, argv: List[str], cwd: Optional[str] = None) -> DockerResult:
        r = self._result(argv, cwd=cwd)
        r.wait()
        return r

    def _compose(self, file: str, args: List[str], cwd: Optional[str]) -> List[str]:
        return ["sh", "-c", _COMPOSE, "compose", "-f", file] + args

    # ---- warrend's Docker routes ----

    def _route(
        self,
        method: str,
        tail: str,
        body: Optional[Dict[str, Any]] = None,
        query: Optional[Dict[str, Any]] = None,
        failure_exit: int = 1,
    ) -> Optional[_EventSource]:
        """Starts ``/v1/sandboxes/{id}/docker/TAIL``; ``None`` when the CLI is
        to run the command instead (``backend="cli"``, or a warrend without
        the routes, found on the first call with ``backend="auto"``)."""
        if self.backend == "cli" or (self.backend == "auto" and self._routes is False):
            return None
        inst = self.sandbox_instance
        path = f"/v1/sandboxes/{inst.container_id}/docker/{tail}"
        json_body = None if method == "GET" else {k: v for k, v in (body or {}).items() if v is not None}
        try:
            # The answer's status is read here, so that a refusal before the
            # stream (a 400, a 404) is raised by the call itself; the events
            # are read on a thread.
            stream = inst.client.open_events(method, path, query, json_body, error=SandboxError)
        except SandboxError as e:
            if e.status == 404 and e.message.startswith("no such route"):
                if self.backend == "routes":
                    raise DockerDaemonNotReadyError(
                        f"this warrend has no Docker routes ({e.message})", "unavailable", e.status
                    ) from None
                self._routes = False
                return None
            if e.status == 400 and "has no Docker" in e.message:
                raise DockerDaemonNotReadyError(e.message, e.kind, e.status) from None
            if e.status == 503:
                raise DockerDaemonNotReadyError(e.message, e.kind, e.status, self._daemon_timeout) from None
            raise
        self._routes = True
        return _EventSource(inst.client.read_events(stream, f"{method} {path}", SandboxError), failure_exit)

    def _call(
        self,
        argv: List[str],
        route: Optional[Tuple[str, str, Optional[Dict[str, Any]], Optional[Dict[str, Any]]]],
        wait: bool = False,
        cwd: Optional[str] = None,
        extract: Optional[Callable[[str], str]] = None,
        failure_exit: int = 1,
    ) -> DockerResult:
        """The command through its route when there is one (``route`` is
        ``(method, tail, body, query)``, ``None`` when an argument has no
        route equivalent), else as the docker CLI in the sandbox."""
        source: Optional[_EventSource] = None
        if route is not None:
            method, tail, body, query = route
            source = self._route(method, tail, body, query, failure_exit)
        result = DockerResult(source, argv, extract) if source is not None else self._result(argv, cwd=cwd, extract=extract)
        if wait:
            result.wait()
        return result

    # ---- containers ----

    def run(
        self,
        image: str,
        command: Optional[Union[str, Sequence[str]]] = None,
        name: Optional[str] = None,
        detach: bool = False,
        remove: bool = False,
        volumes: Optional[Dict[str, str]] = None,
        env: Optional[Dict[str, str]] = None,
        ports: Optional[Dict[Union[int, str], Union[int, str]]] = None,
        network: Optional[str] = None,
        pid: Optional[str] = None,
        **kwargs: Any,
    ) -> DockerResult:
        """``docker run``: ``command`` runs in the container (a string is one
        argument; a list its argv), ``volumes`` maps sandbox paths (or volume
        names) to container paths (``"/data": "/srv:ro"``), ``env`` its
        environment, ``network`` its ``--network``.  ``ports``
        (``{container: sandbox}``) publishes each container port on the
        sandbox's port (``-p SANDBOX:CONTAINER``), on the nested dockerd's
        bridge; reach it from outside with ``sandbox.expose_port(port)``.
        With ``network="host"`` there is nothing to publish: each port must
        map to itself, or :class:`DockerCommandError` (``invalid``) is
        raised.  ``pid="host"`` shares the sandbox's
        PID namespace: ``docker exec`` into a container needs it under
        gVisor, which cannot enter a nested PID namespace (``setns``).  With
        ``detach``, ``output`` is the container's id."""
        _no_extra("run", kwargs)
        published: List[str] = []
        for cport, hport in (ports or {}).items():
            if network == "host":
                if str(cport).split("/")[0] != str(hport):
                    raise DockerCommandError(
                        "docker run",
                        125,
                        f"ports {{{cport!r}: {hport!r}}}: a container with network=\"host\" "
                        "listens on the sandbox's own ports, so map each port to itself",
                    )
                continue
            published.append(f"{hport}:{cport}")
        cmd: Optional[List[str]] = None
        if command:
            cmd = [command] if isinstance(command, str) else list(command)
        argv = ["docker", "run"]
        if detach:
            argv.append("-d")
        if remove:
            argv.append("--rm")
        if name:
            argv += ["--name", name]
        if network:
            argv += ["--network", network]
        if pid:
            argv += ["--pid", pid]
        binds = [f"{src}:{dst}" for src, dst in (volumes or {}).items()]
        for b in binds:
            argv += ["-v", b]
        for k, v in (env or {}).items():
            argv += ["-e", f"{k}={v}"]
        for p in published:
            argv += ["-p", p]
        argv.append(image)
        argv += cmd or []
        route = None
        if not pid:
            route = (
                "POST",
                "run",
                {
                    "image": image,
                    "command": cmd,
                    "name": name,
                    "detach": detach or None,
                    "remove": remove or None,
                    "volumes": binds or None,
                    "env": dict(env) if env else None,
                    "network": network,
                    "ports": published or None,
                },
                None,
            )
        return self._call(argv, route, failure_exit=125)

    def ps(self, all: bool = False, quiet: bool = False) -> Union[List[str], str]:
        """``docker ps`` (``-a``, ``-q``): the ids with ``quiet``, else the
        table.  A failure raises :class:`DockerCommandError`."""
        argv = ["docker", "ps"] + (["-a"] if all else []) + (["-q"] if quiet else [])
        r = self._call(argv, ("GET", "ps", None, {"all": all}), wait=True).check()
        if r.via_routes and quiet:
            return [str(c.get("id", ""))[:12] for c in r.result.get("containers", [])]
        return r.lines() if quiet else r.stdout.strip()

    def logs(self, container: str, follow: bool = False, tail: Optional[int] = None) -> DockerResult:
        """``docker logs`` (``-f``, ``--tail N``)."""
        argv = ["docker", "logs"] + (["-f"] if follow else []) + (["--tail", str(tail)] if tail is not None else [])
        body = {"container": container, "follow": follow or None, "tail": tail}
        return self._call(argv + [container], ("POST", "logs", body, None))

    def exec(self, container: str, command: Union[str, Sequence[str]], **kwargs: Any) -> DockerResult:
        """``docker exec CONTAINER COMMAND`` (a string is one argument).  The
        container must have been started with ``pid="host"`` (see
        :meth:`run`)."""
        _no_extra("exec", kwargs)
        cmd = [command] if isinstance(command, str) else list(command)
        argv = ["docker", "exec", container] + cmd
        return self._call(argv, ("POST", "exec", {"container": container, "command": cmd}, None), failure_exit=126)

    def stop(self, container: str) -> DockerResult:
        """``docker stop``; the result is true when it succeeded."""
        return self._call(["docker", "stop", container], ("POST", "stop", {"container": container}, None), wait=True)

    def rm(self, container: str, force: bool = False) -> DockerResult:
        """``docker rm`` (``-f``); true when it succeeded."""
        argv = ["docker", "rm"] + (["-f"] if force else []) + [container]
        return self._call(argv, ("POST", "rm", {"container": container, "force": force or None}, None), wait=True)

    # ---- images ----

    def pull(self, image: str, quiet: bool = False) -> DockerResult:
        """``docker pull`` (``-q``); its progress is in ``stdout``."""
        argv = ["docker", "pull"] + (["-q"] if quiet else []) + [image]
        return self._call(argv, None if quiet else ("POST", "pull", {"image": image}, None))

    def images(self, quiet: bool = False) -> Union[List[str], str]:
        """``docker images`` (``-q``): the ids with ``quiet``, else the table.
        A failure raises :class:`DockerCommandError`."""
        argv = ["docker", "images"] + (["-q"] if quiet else [])
        r = self._call(argv, ("GET", "images", None, None), wait=True).check()
        if r.via_routes and quiet:
            ids = []
            for img in r.result.get("images", []):
                short = str(img.get("id", "")).split(":")[-1][:12]
                if short not in ids:
                    ids.append(short)
            return ids
        return r.lines() if quiet else r.stdout.strip()

    def build(
        self,
        tag: str,
        context: str = ".",
        dockerfile: Optional[str] = None,
        build_args: Optional[Dict[str, str]] = None,
        no_cache: bool = False,
        quiet: bool = False,
        local_context: Optional[bool] = None,
    ) -> DockerResult:
        """``docker build -t TAG``.  A ``context`` that is a local directory
        is uploaded into the sandbox first (``local_context=None`` decides by
        whether it exists here; ``True``/``False`` say which it is); else it
        is a directory in the sandbox.  ``dockerfile`` is relative to the
        context, as Docker's ``-f``."""
        is_local = os.path.isdir(context) if local_context is None else local_context
        where = context
        if is_local:
            if not os.path.isdir(context):
                raise DockerCommandError(f"docker build {context}", 1, f"local context `{context}` is not a directory")
            self._ensure_ready()
            where = f"/tmp/warren-build-{uuid.uuid4().hex[:12]}"
            self.sandbox_instance.fs_upload_tree(os.path.abspath(context), where)
        argv = ["docker", "build", "-t", tag]
        if dockerfile:
            argv += ["-f", dockerfile if os.path.isabs(dockerfile) or not is_local else f"{where}/{dockerfile}"]
        for k, v in (build_args or {}).items():
            argv += ["--build-arg", f"{k}={v}"]
        if no_cache:
            argv.append("--no-cache")
        if quiet:
            argv.append("--quiet")
        argv.append(where)
        route = None
        if not quiet and not (dockerfile and os.path.isabs(dockerfile)):
            body = {
                "context": where,
                "tag": tag,
                "dockerfile": dockerfile,
                "build_args": dict(build_args) if build_args else None,
                "no_cache": no_cache or None,
            }
            route = ("POST", "build", body, None)
        return self._call(argv, route)

    def rmi(self, image: str, force: bool = False) -> DockerResult:
        """``docker rmi`` (``-f``); true when it succeeded."""
        argv = ["docker", "rmi"] + (["-f"] if force else []) + [image]
        return self._call(argv, ("POST", "rmi", {"image": image, "force": force or None}, None), wait=True)

    def tag(self, source: str, target: str) -> DockerResult:
        """``docker tag``; true when it succeeded."""
        body = {"source": source, "target": target}
        return self._call(["docker", "tag", source, target], ("POST", "tag", body, None), wait=True)

    def push(self, image: str) -> DockerResult:
        """``docker push``; true when it succeeded."""
        return self._call(["docker", "push", image], ("POST", "push", {"image": image}, None), wait=True)

    def login(self, username: Optional[str] = None, password: Optional[str] = None, registry: Optional[str] = None) -> DockerResult:
        """``docker login``; true when it succeeded.  The password never goes
        to a command line (the route takes it in its body; the CLI reads it
        on stdin).  Without a username or password, ``$DOCKER_USERNAME`` /
        ``$DOCKER_PASSWORD`` of the sandbox are used (raising
        :class:`DockerCommandError` when there are none)."""
        username = username or self._sandbox_env("DOCKER_USERNAME")
        password = password or self._sandbox_env("DOCKER_PASSWORD")
        if not username or not password:
            raise DockerCommandError("docker login", 1, "no username or password (nor DOCKER_USERNAME/DOCKER_PASSWORD)")
        argv = ["docker", "login", "--username", username, "--password-stdin"] + ([registry] if registry else [])
        source = self._route("POST", "login", {"username": username, "password": password, "registry": registry})
        if source is not None:
            r = DockerResult(source, argv)
            r.wait()
            return r
        self._ensure_ready()
        p = self.sandbox_instance.process.exec(*argv, stdin=True)
        p.send_stdin(password, close=True)
        r = DockerResult(p, argv)
        r.wait()
        return r

    def _sandbox_env(self, name: str) -> str:
        p = self.sandbox_instance.process.exec("printenv", name)
        p.wait()
        return p.stdout.read().strip()

    # ---- compose ----

    def _compose_call(self, file: str, args: List[str], cwd: Optional[str], tail: Optional[str], body: Dict[str, Any], wait: bool = False) -> DockerResult:
        argv = self._compose(file, args, cwd)
        if tail is not None:
            try:
                source = self._route("POST", f"compose/{tail}", dict(body, file=file, project_dir=cwd))
            except SandboxError as e:
                # The route runs the compose plugin only; the CLI tries
                # docker-compose too.
                if e.status == 400 and "compose" in e.message:
                    source = None
                else:
                    raise
            if source is not None:
                r = DockerResult(source, argv)
                if wait:
                    r.wait()
                return r
        r = self._result(argv, cwd=cwd)
        if wait:
            r.wait()
        return r

    def compose_up(self, file: str = "docker-compose.yml", detach: bool = True, build: bool = False, cwd: Optional[str] = None) -> DockerResult:
        """``docker compose -f FILE up`` (``-d``, ``--build``) in ``cwd``."""
        args = ["up"] + (["-d"] if detach else []) + (["--build"] if build else [])
        return self._compose_call(file, args, cwd, "up", {"detach": detach, "build": build or None})

    def compose_down(self, file: str = "docker-compose.yml", volumes: bool = False, cwd: Optional[str] = None) -> DockerResult:
        """``docker compose -f FILE down`` (``-v``); true when it succeeded."""
        args = ["down"] + (["-v"] if volumes else [])
        return self._compose_call(file, args, cwd, "down", {"volumes": volumes or None}, wait=True)

    def compose_ps(self, file: str = "docker-compose.yml", cwd: Optional[str] = None) -> str:
        """``docker compose -f FILE ps``: its table.  A failure raises
        :class:`DockerCommandError`."""
        return self._compose_call(file, ["ps"], cwd, "ps", {}, wait=True).check().stdout

    def compose_logs(self, file: str = "docker-compose.yml", follow: bool = False, cwd: Optional[str] = None) -> DockerResult:
        """``docker compose -f FILE logs`` (``-f``)."""
        args = ["logs"] + (["-f"] if follow else [])
        return self._compose_call(file, args, cwd, "logs", {"follow": follow or None})

    def compose_build(self, file: str = "docker-compose.yml", no_cache: bool = False, pull: bool = False, cwd: Optional[str] = None) -> DockerResult:
        """``docker compose -f FILE build`` (``--no-cache``, ``--pull``);
        always through the CLI (warrend has no route for it)."""
        args = ["build"] + (["--no-cache"] if no_cache else []) + (["--pull"] if pull else [])
        return self._compose_call(file, args, cwd, None, {})

    # ---- volumes and networks ----

    def volume_create(self, name: str) -> DockerResult:
        """``docker volume create``; true when it succeeded."""
        return self._call(["docker", "volume", "create", name], ("POST", "volume/create", {"name": name}, None), wait=True)

    def volume_rm(self, name: str, force: bool = False) -> DockerResult:
        """``docker volume rm`` (``-f``); true when it succeeded."""
        argv = ["docker", "volume", "rm"] + (["-f"] if force else []) + [name]
        return self._call(argv, ("POST", "volume/rm", {"name": name, "force": force or None}, None), wait=True)

    def volume_ls(self, quiet: bool = False) -> Union[List[str], str]:
        """``docker volume ls`` (``-q``): names with ``quiet``, else the
        table.  A failure raises :class:`DockerCommandError`."""
        argv = ["docker", "volume", "ls"] + (["-q"] if quiet else [])
        r = self._call(argv, ("GET", "volume/ls", None, None), wait=True).check()
        if r.via_routes and quiet:
            return [str(v.get("name", "")) for v in r.result.get("volumes", [])]
        return r.lines() if quiet else r.stdout.strip()

    def network_create(self, name: str, driver: Optional[str] = None) -> DockerResult:
        """``docker network create`` (``--driver``); true when it succeeded
        (the CLI: warrend has no network routes)."""
        return self._done(["docker", "network", "create"] + (["--driver", driver] if driver else []) + [name])

    def network_rm(self, name: str) -> DockerResult:
        """``docker network rm``; true when it succeeded (the CLI)."""
        return self._done(["docker", "network", "rm", name])

    def network_ls(self, quiet: bool = False) -> Union[List[str], str]:
        """``docker network ls`` (``-q``) (the CLI)."""
        r = self._done(["docker", "network", "ls"] + (["-q"] if quiet else [])).check()
        return r.lines() if quiet else r.stdout.strip()
