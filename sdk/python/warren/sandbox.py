"""Sandboxes: what to create (:class:`Sandbox`) and one that exists
(:class:`SandboxInstance`)."""

import os
import sys
import time
from typing import IO, Any, Callable, Dict, List, Optional, Sequence, Union

from .client import Client, default_client
from .context import upload as upload_context
from .exceptions import (
    DockerDaemonNotReadyError,
    ImageBuildError,
    SandboxConnectionError,
    SandboxError,
    SandboxFileSystemError,
    SandboxProcessError,
)
from .fs import SandboxFileSystem
from .image import Image
from .process import SandboxProcessManager

__all__ = ["Sandbox", "SandboxInstance", "FINAL_STATES"]

FINAL_STATES = ("stopped", "failed")


class _either:
    """A method callable on the class (with a default instance) and on an
    instance: ``Sandbox.connect(id)`` and ``Sandbox().connect(id)``."""

    def __init__(self, func: Callable[..., Any]):
        self.func = func
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__

    def __get__(self, obj: Any, cls: Any) -> Callable[..., Any]:
        target = obj if obj is not None else cls()
        return self.func.__get__(target, cls)


def _cpu_value(cpu: Union[int, float, str]) -> float:
    if isinstance(cpu, bool):
        raise SandboxError("cpu: must be a number of CPUs", "invalid")
    if isinstance(cpu, (int, float)):
        return float(cpu)
    s = str(cpu).strip()
    try:
        if s.endswith("m"):
            return float(s[:-1]) / 1000.0
        return float(s)
    except ValueError:
        raise SandboxError(f"cpu: `{cpu}` is not a number of CPUs (1, 0.5, \"500m\")", "invalid") from None


def _memory_value(memory: Union[int, str]) -> Union[int, str]:
    """An int is MiB (as beta9's); a string with a unit goes to warrend."""
    if isinstance(memory, bool):
        raise SandboxError("memory: must be MiB or a size with a unit (\"1Gi\")", "invalid")
    if isinstance(memory, int):
        return memory * 1024 * 1024
    s = str(memory).strip()
    if s.isdigit():
        return int(s) * 1024 * 1024
    return s


class Sandbox:
    """What to create: resources, image, Docker, environment, lifetime.

    Args:
        cpu: CPUs (``1``, ``0.5``, ``"500m"``).
        memory: MiB as a number (``128``), or a size with a unit
            (``"512Mi"``, ``"2Gi"``).  Default: 128 MiB (beta9's), or
            1 GiB with ``docker_enabled``: the nested dockerd keeps its
            images in the sandbox's memory, and a 128 MiB sandbox is killed
            for out of memory pulling a 150 MB image.
        image: the :class:`Image` (default ``Image()``, Python 3.11).
        docker_enabled: a dockerd in the sandbox (``sandbox.docker``).
        env: environment variables of every process.
        name: a unique name (``Sandbox.connect`` takes it like an id).
        keep_warm_seconds: how long the sandbox lives after the last call
            on it; ``-1``: until terminated.
        block_network: no network at all.
        allow_list: the only destinations the sandbox may reach.
        ports: sandbox ports to expose on warrend's host once it runs.
        labels: labels to find sandboxes by (``Sandbox.list(labels=...)``).
        workdir: the working directory of its processes.
        pids_limit: at most this many processes.
        client: the :class:`Client` (default: from ``$WARREN_HOST``).
        gpu, gpu_count, volumes, secrets, authorized, sync_local_dir:
            accepted so beta9 programs run, and refused
            (:class:`SandboxError`, ``invalid``) unless left at their
            defaults: warrend has none of them.
    """

    def __init__(
        self,
        cpu: Union[int, float, str] = 1.0,
        memory: Optional[Union[int, str]] = None,
        image: Optional[Image] = None,
        docker_enabled: bool = False,
        env: Optional[Dict[str, str]] = {},  # noqa: B006 - beta9's default, never mutated
        name: Optional[str] = None,
        keep_warm_seconds: int = 600,
        block_network: bool = False,
        allow_list: Optional[List[str]] = None,
        ports: Sequence[int] = [],  # noqa: B006 - never mutated
        labels: Optional[Dict[str, str]] = None,
        workdir: Optional[str] = None,
        pids_limit: Optional[int] = None,
        client: Optional[Client] = None,
        gpu: Any = "",
        gpu_count: int = 0,
        volumes: Optional[List[Any]] = None,
        secrets: Optional[List[str]] = None,
        authorized: bool = False,
        sync_local_dir: bool = False,
    ):
        refused = {
            "gpu": gpu not in ("", None, "NO_GPU") and str(gpu) not in ("", "GpuType.NoGPU"),
            "gpu_count": gpu_count != 0,
            "volumes": bool(volumes),
            "secrets": bool(secrets),
            "authorized": bool(authorized),
            "sync_local_dir": bool(sync_local_dir),
        }
        for arg, bad in refused.items():
            if bad:
                raise SandboxError(f"Sandbox: {arg} is not supported by warrend (leave it at its default)", "invalid")
        self.cpu: float = _cpu_value(cpu)
        if memory is None:
            memory = 1024 if docker_enabled else 128
        self.memory: Union[int, str] = _memory_value(memory)
        self.image: Image = image if image is not None else Image()
        if not isinstance(self.image, Image):
            raise ImageBuildError("image: give an Image (Image.from_registry(\"busybox\"))", "invalid")
        self.docker_enabled: bool = bool(docker_enabled)
        self.env: Dict[str, str] = dict(env or {})
        self.name: Optional[str] = name
        self.keep_warm_seconds: int = int(keep_warm_seconds)
        self.block_network: bool = bool(block_network)
        self.allow_list: Optional[List[str]] = list(allow_list) if allow_list is not None else None
        self.ports: List[int] = [int(p) for p in ports]
        self.labels: Optional[Dict[str, str]] = labels
        self.workdir: Optional[str] = workdir
        self.pids_limit: Optional[int] = pids_limit
        self.client: Client = client if client is not None else default_client()

    def spec(self, context: Optional[str] = None) -> Dict[str, Any]:
        """The create body (docs/api.md, "The create body"); ``context`` is
        the digest of the image's uploaded build context."""
        body: Dict[str, Any] = {
            "image": self.image.to_spec(context),
            "cpu": self.cpu,
            "memory": self.memory,
            "docker_enabled": self.docker_enabled,
            "keep_warm_seconds": self.keep_warm_seconds,
        }
        if self.env:
            body["env"] = self.env
        if self.name is not None:
            body["name"] = self.name
        if self.ports:
            body["ports"] = self.ports
        if self.labels:
            body["labels"] = self.labels
        if self.workdir is not None:
            body["workdir"] = self.workdir
        if self.pids_limit is not None:
            body["pids_limit"] = self.pids_limit
        # Sent only when asked for, so a warrend without them still creates
        # ordinary sandboxes; one that lacks them refuses the field by name.
        if self.block_network:
            body["block_network"] = True
        if self.allow_list is not None:
            body["allow_list"] = self.allow_list
        return body

    def create(self, output: Optional[IO[str]] = None) -> "SandboxInstance":
        """Creates the sandbox and returns once it runs.

        It reads the create's events as they come and prints the Docker
        readiness lines as warrend words them (``Waiting for Docker daemon
        to be ready (timeout: 30s)...``, ``Docker daemon is ready (took
        1.2s)``) to ``output`` (default: standard output).  A failure
        raises: :class:`ImageBuildError` for the image (a bad reference, a
        refused build), :class:`DockerDaemonNotReadyError` when dockerd
        failed, :class:`SandboxConnectionError` otherwise, each with the
        server's kind and message.
        """
        out = output if output is not None else sys.stdout
        context = None
        if self.image.context_dir is not None:
            context = upload_context(self.client, self.image.context_dir)
        body = self.spec(context)
        sandbox: Optional[Dict[str, Any]] = None
        phase = {"state": "creating"}
        try:
            for event in self.client.events("POST", "/v1/sandboxes", json_body=body, error=SandboxConnectionError):
                kind = event.get("event")
                if kind == "state":
                    phase["state"] = str(event.get("state"))
                elif kind in ("docker.waiting", "docker.ready"):
                    phase["state"] = "docker"
                    if event.get("message"):
                        print(event["message"], file=out, flush=True)
                elif kind == "sandbox":
                    sandbox = event.get("sandbox")
        except SandboxConnectionError as e:
            raise _create_error(e, phase["state"]) from None
        if not isinstance(sandbox, dict):
            raise SandboxConnectionError("create: the stream ended without the sandbox", "internal")
        instance = SandboxInstance(sandbox["id"], client=self.client, info=sandbox)
        if self.image.local_paths:
            try:
                for local, remote in self.image.local_paths:
                    instance.fs_upload_tree(local, remote)
            except SandboxError:
                instance.terminate()
                raise
        return instance

    @_either
    def connect(self, id: str) -> "SandboxInstance":
        """The existing sandbox with this id or name (``Sandbox().connect(id)``
        or ``Sandbox.connect(id)``); one that does not exist raises
        :class:`SandboxConnectionError` (``not_found``)."""
        info = self.client.request("GET", f"/v1/sandboxes/{id}", error=SandboxConnectionError)
        return SandboxInstance(info["id"], client=self.client, info=info)

    @_either
    def list(
        self,
        state: Optional[str] = None,
        name: Optional[str] = None,
        labels: Optional[Dict[str, str]] = None,
    ) -> List["SandboxInstance"]:
        """The sandboxes warrend knows, optionally only those in ``state``,
        with ``name``, or with all of ``labels``."""
        query: Dict[str, Any] = {"state": state, "name": name}
        if labels:
            query["label"] = ",".join(f"{k}={v}" for k, v in labels.items())
        answer = self.client.request("GET", "/v1/sandboxes", query, error=SandboxConnectionError)
        return [SandboxInstance(s["id"], client=self.client, info=s) for s in answer.get("sandboxes", [])]

    @property
    def aio(self) -> Any:
        """This sandbox's calls for asyncio (:mod:`warren.aio`)."""
        from .aio import AsyncProxy

        return AsyncProxy(self)


def _create_error(e: SandboxConnectionError, phase: str) -> SandboxError:
    msg = e.message
    if phase == "creating" and (msg.startswith("build") or "build step" in msg or "ockerfile" in msg):
        return ImageBuildError(msg, e.kind, e.status)
    if phase == "docker" or "docker daemon" in msg.lower() or "dockerd" in msg:
        return DockerDaemonNotReadyError(msg, e.kind, e.status)
    if phase == "creating" and (
        "image" in msg or "manifest" in msg or "pull" in msg or "registry" in msg or "reference" in msg
    ):
        return ImageBuildError(msg, e.kind, e.status)
    return SandboxConnectionError(msg, e.kind, e.status)


class SandboxInstance:
    """A sandbox that exists.

    Attributes:
        container_id: its id (``sb-`` and 16 hex digits).
        process: its processes (:class:`warren.process.SandboxProcessManager`).
        fs: its files (:class:`warren.fs.SandboxFileSystem`).
        docker: its Docker (:class:`warren.docker.SandboxDockerManager`).
        info: warrend's JSON of it when last asked (docs/api.md, Sandbox).
    """

    def __init__(self, container_id: str, client: Optional[Client] = None, info: Optional[Dict[str, Any]] = None):
        from .docker import SandboxDockerManager

        self.container_id: str = container_id
        self.client: Client = client if client is not None else default_client()
        self.info: Dict[str, Any] = info or {}
        self.ok: bool = True
        self.error_msg: str = ""
        self.terminated: bool = False
        self.process = SandboxProcessManager(self)
        self.fs = SandboxFileSystem(self)
        self.docker = SandboxDockerManager(self)

    def _path(self, tail: str = "") -> str:
        return f"/v1/sandboxes/{self.container_id}{tail}"

    def sandbox_id(self) -> str:
        """Its id."""
        return self.container_id

    def refresh(self) -> Dict[str, Any]:
        """Asks warrend for the sandbox's JSON again and returns it."""
        self.info = self.client.request("GET", self._path(), error=SandboxConnectionError)
        return self.info

    def status(self) -> str:
        """Its state: ``creating``, ``starting``, ``running``, ``stopping``,
        ``stopped`` or ``failed`` (``reason()`` says why it stopped)."""
        return str(self.refresh().get("state"))

    def reason(self) -> Optional[str]:
        """Why it is stopped or failed (``deleted``, ``lifetime expired``...),
        as last asked."""
        return self.info.get("reason")

    def poll(self) -> Optional[str]:
        """``None`` while it is not ended, else its final state (``stopped``
        or ``failed``)."""
        state = self.status()
        return state if state in FINAL_STATES else None

    def wait(self, timeout: Optional[float] = None, interval: float = 0.5) -> str:
        """Waits until it ends (terminated, expired or failed) and returns
        its final state; with a ``timeout`` (seconds) that passes first,
        raises :class:`SandboxConnectionError` (``unavailable``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            state = self.poll()
            if state is not None:
                return state
            if deadline is not None and time.monotonic() >= deadline:
                raise SandboxConnectionError(
                    f"sandbox {self.container_id} is still {self.info.get('state')} after {timeout}s", "unavailable"
                )
            time.sleep(interval)

    def terminate(self) -> bool:
        """Stops and removes it (``DELETE``); ``True`` once it is stopped.
        An error (a sandbox warrend does not know) raises
        :class:`SandboxConnectionError`."""
        self.info = self.client.request("DELETE", self._path(), error=SandboxConnectionError)
        self.terminated = True
        return self.info.get("state") in FINAL_STATES

    def update_ttl(self, ttl: int) -> None:
        """Sets how long it lives after the last call on it (seconds; ``-1``:
        until terminated)."""
        self.info = self.client.request(
            "PATCH", self._path(), json_body={"keep_warm_seconds": int(ttl)}, error=SandboxProcessError
        )

    def expose_port(self, port: int, host_port: Optional[int] = None) -> str:
        """Makes the sandbox's TCP ``port`` (on its 127.0.0.1) reachable on
        warrend's host and returns its URL (``http://127.0.0.1:41023``)."""
        body: Dict[str, Any] = {"port": int(port)}
        if host_port is not None:
            body["host_port"] = int(host_port)
        answer = self.client.request("POST", self._path("/ports"), json_body=body, error=SandboxProcessError)
        return str(answer["url"])

    def unexpose_port(self, port: int) -> None:
        """Stops exposing ``port``."""
        self.client.request("DELETE", self._path(f"/ports/{int(port)}"), error=SandboxProcessError)

    def list_urls(self) -> Dict[int, str]:
        """The exposed ports and their URLs, ``{port: url}``."""
        answer = self.client.request("GET", self._path("/ports"), error=SandboxConnectionError)
        return {int(p["port"]): str(p["url"]) for p in answer.get("ports", [])}

    def update_network_permissions(self, block_network: bool = False, allow_list: Optional[List[str]] = None) -> None:
        """Gives the running sandbox a new network policy at once: nothing
        (``block_network``), only ``allow_list`` (CIDRs), or, with neither,
        open again.  Connections the new policy does not allow stop.  Bad
        input (a malformed CIDR, both arguments) raises
        :class:`SandboxConnectionError` with the server's message."""
        body: Dict[str, Any] = {"block_network": bool(block_network)}
        if allow_list is not None:
            body["allow_list"] = list(allow_list)
        self.info = self.client.request("PATCH", self._path(), json_body=body, error=SandboxConnectionError)

    @property
    def docker_socket(self) -> Optional[str]:
        """The host path of its dockerd's socket (Docker-enabled only)."""
        if "docker_socket" not in self.info:
            self.refresh()
        return self.info.get("docker_socket")

    def fs_upload_tree(self, local: str, remote: str) -> None:
        """Uploads a local file, or a directory and everything in it, to
        ``remote`` (used for ``Image.add_local_path``)."""
        if os.path.isdir(local):
            self.fs.create_directory(remote)
            for root, dirs, files in os.walk(local):
                rel = os.path.relpath(root, local)
                base = remote if rel == "." else remote.rstrip("/") + "/" + rel
                for d in dirs:
                    full = os.path.join(root, d)
                    if os.path.islink(full):
                        raise SandboxFileSystemError(f"`{full}` is a symlink: not uploaded", "invalid")
                    self.fs.create_directory(base.rstrip("/") + "/" + d, mode=os.stat(full).st_mode & 0o7777)
                for name in files:
                    self.fs.upload_file(os.path.join(root, name), base.rstrip("/") + "/" + name)
        else:
            self.fs.upload_file(local, remote)

    @property
    def aio(self) -> Any:
        """The same calls for asyncio (:mod:`warren.aio`)."""
        from .aio import AsyncProxy

        return AsyncProxy(self)

    def __enter__(self) -> "SandboxInstance":
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.terminated:
            try:
                self.terminate()
            except SandboxError:
                if exc[0] is None:
                    raise

    def __repr__(self) -> str:
        return f"SandboxInstance({self.container_id!r}, state={self.info.get('state')!r})"
