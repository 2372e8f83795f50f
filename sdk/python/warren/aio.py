"""The SDK's calls for asyncio.

``sandbox.aio`` (and ``Sandbox(...).aio``) is a proxy of the synchronous
object: each method call becomes a coroutine that runs the synchronous call
in the event loop's default thread pool executor (``loop.run_in_executor``),
so the loop keeps running while a call waits on warrend.  What a call
returns is proxied again when it is an SDK object (a sandbox, a process, a
stream, a Docker result), so ``await (await sandbox.aio.process.exec("ls")).wait()``
works; output streams iterate with ``async for``::

    sandbox = await Sandbox(image=Image.from_registry("busybox")).aio.create()
    p = await sandbox.process.exec("sh", "-c", "echo one; echo two")
    async for line in p.stdout:
        print(line, end="")
    await sandbox.terminate()

Attributes that are plain values (``pid``, ``container_id``) are returned as
they are; properties that wait (a Docker result's ``stdout``) wait in the
executor when awaited through :meth:`AsyncProxy.get`.
"""

import asyncio
import functools
from typing import Any, AsyncIterator

__all__ = ["AsyncProxy"]


def _proxied(value: Any) -> bool:
    from .docker import DockerResult, SandboxDockerManager
    from .fs import SandboxFileSystem
    from .process import SandboxProcess, SandboxProcessLogs, SandboxProcessManager, SandboxProcessStream
    from .sandbox import Sandbox, SandboxInstance

    return isinstance(
        value,
        (
            Sandbox,
            SandboxInstance,
            SandboxProcessManager,
            SandboxProcess,
            SandboxProcessStream,
            SandboxProcessLogs,
            SandboxFileSystem,
            SandboxDockerManager,
            DockerResult,
        ),
    )


def _wrap(value: Any) -> Any:
    if _proxied(value):
        return AsyncProxy(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    if isinstance(value, dict) and any(_proxied(v) for v in value.values()):
        return {k: _wrap(v) for k, v in value.items()}
    return value


async def _run(func: Any, *args: Any, **kwargs: Any) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(func, *args, **kwargs))


class AsyncProxy:
    """An SDK object's calls as coroutines (see the module's documentation).

    ``proxy.sync`` is the synchronous object.
    """

    def __init__(self, target: Any):
        object.__setattr__(self, "sync", target)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.sync, name)
        if callable(attr) and not _proxied(attr):

            async def call(*args: Any, **kwargs: Any) -> Any:
                return _wrap(await _run(attr, *args, **kwargs))

            call.__name__ = name
            call.__doc__ = getattr(attr, "__doc__", None)
            return call
        return _wrap(attr)

    async def get(self, name: str) -> Any:
        """The attribute ``name``, read in the executor (for properties that
        wait, like a Docker result's ``stdout``)."""
        return _wrap(await _run(getattr, self.sync, name))

    def __aiter__(self) -> AsyncIterator[Any]:
        iterator = iter(self.sync)

        async def gen() -> AsyncIterator[Any]:
            sentinel = object()
            while True:
                item = await _run(next, iterator, sentinel)
                if item is sentinel:
                    return
                yield _wrap(item)

        return gen()

    async def __aenter__(self) -> "AsyncProxy":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        exit_ = getattr(self.sync, "__exit__", None)
        if exit_ is not None:
            await _run(exit_, *exc)

    def __repr__(self) -> str:
        return f"AsyncProxy({self.sync!r})"
