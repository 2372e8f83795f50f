"""Docker in a Docker-enabled sandbox (``sandbox.docker``).

Each call runs the ``docker`` command line inside the sandbox as a process
(``sandbox.process.exec``), after warrend said the sandbox's dockerd is
ready (``GET /v1/sandboxes/{id}/docker``), and returns a
:class:`DockerResult`: the process, with ``wait()``, ``success``, ``stdout``,
``stderr`` and ``logs()``.  Unlike beta9's, no argument is silently ignored:
one that cannot be honoured raises (``TypeError`` for an unknown one,
:class:`DockerCommandError` of kind ``invalid`` for a value).

``sandbox.docker.host`` is the sandbox dockerd's socket on warrend's host,
as a ``unix://`` URL for docker-py (``docker.DockerClient(base_url=...)``) or
``docker -H``.
"""

import os
import shlex
import uuid
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

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


class DockerResult:
    """A Docker command running (or run) in the sandbox.

    Attributes:
        process: the :class:`SandboxProcess` of the command.
        command: its argv.
    """

    def __init__(self, process: SandboxProcess, command: List[str], extract_output: Optional[Callable[[str], str]] = None):
        self.process = process
        self.command = command
        self._extract = extract_output
        self._exit_code: Optional[int] = None

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Waits for the command to end; ``True`` when it exited with 0."""
        if self._exit_code is None:
            self._exit_code = self.process.wait(timeout)
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
        return DockerOutput(self.process.stdout.read())

    @property
    def stderr(self) -> DockerOutput:
        """All its standard error (waits for it to end)."""
        self.wait()
        return DockerOutput(self.process.stderr.read())

    @property
    def output(self) -> str:
        """Its main result (a detached container's id...), or its stdout
        stripped (waits for it to end)."""
        text = self.stdout.strip()
        return self._extract(text) if self._extract else text

    def logs(self) -> Iterator[str]:
        """Its output lines, stdout and stderr, as they come (Docker writes
        progress to either)."""
        return iter(self.process.logs)

    def stream(self, name: str = "stdout") -> SandboxProcessStream:
        """A reader of one of its streams, for lines while it runs."""
        return SandboxProcessStream(self.process, name)

    def check(self) -> "DockerResult":
        """Waits, and raises :class:`DockerCommandError` unless it exited
        with 0; returns itself."""
        if not self.wait():
            raise DockerCommandError(shlex.join(self.command), self.exit_code, self.process.stderr.read())
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
    """

    def __init__(self, sandbox_instance: "SandboxInstance", daemon_timeout: float = 30):
        self.sandbox_instance = sandbox_instance
        self._daemon_timeout = daemon_timeout
        self._ready = False

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
        argument; a list its argv), ``volumes`` maps sandbox paths to
        container paths (``"/data": "/srv:ro"``), ``env`` its environment,
        ``network`` its ``--network``.  ``ports`` (``{container: host}``):
        the nested dockerd has no bridge, so Docker would accept ``-p`` and
        publish nothing; the SDK raises :class:`DockerCommandError`
        (``invalid``) instead, unless ``network="host"`` and each port maps
        to itself, which host networking serves as it is (reach it from
        outside with ``sandbox.expose_port(port)``).
        ``pid="host"`` shares the sandbox's PID namespace: ``docker exec``
        into a container needs it under gVisor, which cannot enter a nested
        PID namespace (``setns``); without it the exec fails with runc's
        ``error executing setns process``.  With ``detach``, ``output`` is
        the container's id."""
        _no_extra("run", kwargs)
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
        for src, dst in (volumes or {}).items():
            argv += ["-v", f"{src}:{dst}"]
        for k, v in (env or {}).items():
            argv += ["-e", f"{k}={v}"]
        for cport, hport in (ports or {}).items():
            if network != "host" or str(cport).split("/")[0] != str(hport):
                raise DockerCommandError(
                    "docker run",
                    125,
                    f"ports {{{cport!r}: {hport!r}}}: the sandbox's dockerd has no bridge, so "
                    "published ports would not be reachable; run with network=\"host\" and the "
                    "same port on both sides, then sandbox.expose_port(port)",
                )
        argv.append(image)
        if command:
            argv += [command] if isinstance(command, str) else list(command)
        return self._result(argv)

    def ps(self, all: bool = False, quiet: bool = False) -> Union[List[str], str]:
        """``docker ps`` (``-a``, ``-q``): the ids with ``quiet``, else the
        table.  A failure raises :class:`DockerCommandError`."""
        argv = ["docker", "ps"] + (["-a"] if all else []) + (["-q"] if quiet else [])
        r = self._done(argv).check()
        return r.lines() if quiet else r.stdout.strip()

    def logs(self, container: str, follow: bool = False, tail: Optional[int] = None) -> DockerResult:
        """``docker logs`` (``-f``, ``--tail N``)."""
        argv = ["docker", "logs"] + (["-f"] if follow else []) + (["--tail", str(tail)] if tail is not None else [])
        return self._result(argv + [container])

    def exec(self, container: str, command: Union[str, Sequence[str]], **kwargs: Any) -> DockerResult:
        """``docker exec CONTAINER COMMAND`` (a string is one argument).  The
        container must have been started with ``pid="host"`` (see
        :meth:`run`)."""
        _no_extra("exec", kwargs)
        argv = ["docker", "exec", container] + ([command] if isinstance(command, str) else list(command))
        return self._result(argv)

    def stop(self, container: str) -> DockerResult:
        """``docker stop``; the result is true when it succeeded."""
        return self._done(["docker", "stop", container])

    def rm(self, container: str, force: bool = False) -> DockerResult:
        """``docker rm`` (``-f``); true when it succeeded."""
        return self._done(["docker", "rm"] + (["-f"] if force else []) + [container])

    # ---- images ----

    def pull(self, image: str, quiet: bool = False) -> DockerResult:
        """``docker pull`` (``-q``); its progress is in ``stdout``."""
        return self._result(["docker", "pull"] + (["-q"] if quiet else []) + [image])

    def images(self, quiet: bool = False) -> Union[List[str], str]:
        """``docker images`` (``-q``): the ids with ``quiet``, else the table.
        A failure raises :class:`DockerCommandError`."""
        r = self._done(["docker", "images"] + (["-q"] if quiet else [])).check()
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
        return self._result(argv + [where])

    def rmi(self, image: str, force: bool = False) -> DockerResult:
        """``docker rmi`` (``-f``); true when it succeeded."""
        return self._done(["docker", "rmi"] + (["-f"] if force else []) + [image])

    def tag(self, source: str, target: str) -> DockerResult:
        """``docker tag``; true when it succeeded."""
        return self._done(["docker", "tag", source, target])

    def push(self, image: str) -> DockerResult:
        """``docker push``; true when it succeeded."""
        return self._done(["docker", "push", image])

    def login(self, username: Optional[str] = None, password: Optional[str] = None, registry: Optional[str] = None) -> DockerResult:
        """``docker login --password-stdin``; the password goes to the
        command's stdin, never to its argv.  Without a username or password,
        ``$DOCKER_USERNAME`` / ``$DOCKER_PASSWORD`` of the sandbox are used
        (raising :class:`DockerCommandError` when there are none)."""
        username = username or self._sandbox_env("DOCKER_USERNAME")
        password = password or self._sandbox_env("DOCKER_PASSWORD")
        if not username or not password:
            raise DockerCommandError("docker login", 1, "no username or password (nor DOCKER_USERNAME/DOCKER_PASSWORD)")
        self._ensure_ready()
        argv = ["docker", "login", "--username", username, "--password-stdin"] + ([registry] if registry else [])
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

    def compose_up(self, file: str = "docker-compose.yml", detach: bool = True, build: bool = False, cwd: Optional[str] = None) -> DockerResult:
        """``docker compose -f FILE up`` (``-d``, ``--build``) in ``cwd``."""
        args = ["up"] + (["-d"] if detach else []) + (["--build"] if build else [])
        return self._result(self._compose(file, args, cwd), cwd=cwd)

    def compose_down(self, file: str = "docker-compose.yml", volumes: bool = False, cwd: Optional[str] = None) -> DockerResult:
        """``docker compose -f FILE down`` (``-v``); true when it succeeded."""
        return self._done(self._compose(file, ["down"] + (["-v"] if volumes else []), cwd), cwd=cwd)

    def compose_ps(self, file: str = "docker-compose.yml", cwd: Optional[str] = None) -> str:
        """``docker compose -f FILE ps``: its table.  A failure raises
        :class:`DockerCommandError`."""
        return self._done(self._compose(file, ["ps"], cwd), cwd=cwd).check().stdout

    def compose_logs(self, file: str = "docker-compose.yml", follow: bool = False, cwd: Optional[str] = None) -> DockerResult:
        """``docker compose -f FILE logs`` (``-f``)."""
        return self._result(self._compose(file, ["logs"] + (["-f"] if follow else []), cwd), cwd=cwd)

    def compose_build(self, file: str = "docker-compose.yml", no_cache: bool = False, pull: bool = False, cwd: Optional[str] = None) -> DockerResult:
        """``docker compose -f FILE build`` (``--no-cache``, ``--pull``)."""
        args = ["build"] + (["--no-cache"] if no_cache else []) + (["--pull"] if pull else [])
        return self._result(self._compose(file, args, cwd), cwd=cwd)

    # ---- volumes and networks ----

    def volume_create(self, name: str) -> DockerResult:
        """``docker volume create``; true when it succeeded."""
        return self._done(["docker", "volume", "create", name])

    def volume_rm(self, name: str, force: bool = False) -> DockerResult:
        """``docker volume rm`` (``-f``); true when it succeeded."""
        return self._done(["docker", "volume", "rm"] + (["-f"] if force else []) + [name])

    def volume_ls(self, quiet: bool = False) -> Union[List[str], str]:
        """``docker volume ls`` (``-q``): names with ``quiet``, else the
        table.  A failure raises :class:`DockerCommandError`."""
        r = self._done(["docker", "volume", "ls"] + (["-q"] if quiet else [])).check()
        return r.lines() if quiet else r.stdout.strip()

    def network_create(self, name: str, driver: Optional[str] = None) -> DockerResult:
        """``docker network create`` (``--driver``); true when it succeeded."""
        return self._done(["docker", "network", "create"] + (["--driver", driver] if driver else []) + [name])

    def network_rm(self, name: str) -> DockerResult:
        """``docker network rm``; true when it succeeded."""
        return self._done(["docker", "network", "rm", name])

    def network_ls(self, quiet: bool = False) -> Union[List[str], str]:
        """``docker network ls`` (``-q``)."""
        r = self._done(["docker", "network", "ls"] + (["-q"] if quiet else [])).check()
        return r.lines() if quiet else r.stdout.strip()

