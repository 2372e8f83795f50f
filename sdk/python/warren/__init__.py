"""warren: the Python SDK of warrend, warren's sandbox service.

Sandboxes are gVisor sandboxes, with Docker inside when asked::

    from warren import Image, Sandbox

    sandbox = Sandbox(
        cpu=1,
        image=Image.from_registry("ubuntu:22.04").with_docker(),
        docker_enabled=True,
    ).create()
    process = sandbox.docker.pull("nginx:latest")
    process.wait()
    print(process.stdout.read())
    sandbox.terminate()

The names and defaults are those of beta9's sandbox SDK, so programs written
for it move over by changing the import (docs/python.md says what differs).
Standard library only; warrend is reached on its unix socket or over TCP with
a token (:mod:`warren.client`).
"""

from .client import Client, default_client, set_default_client
from .docker import DockerOutput, DockerResult, SandboxDockerManager
from .exceptions import (
    DockerCommandError,
    DockerDaemonNotReadyError,
    ImageBuildError,
    SandboxConnectionError,
    SandboxError,
    SandboxFileSystemError,
    SandboxProcessError,
)
from .fs import (
    SandboxFileInfo,
    SandboxFilePosition,
    SandboxFileSearchMatch,
    SandboxFileSearchRange,
    SandboxFileSearchResult,
    SandboxFileSystem,
)
from .image import Image, ImageBuildResult
from .process import (
    SandboxProcess,
    SandboxProcessLogs,
    SandboxProcessManager,
    SandboxProcessResponse,
    SandboxProcessStream,
)
from .sandbox import Sandbox, SandboxInstance

__version__ = "0.1.0"

__all__ = [
    "Client",
    "default_client",
    "set_default_client",
    "Image",
    "ImageBuildResult",
    "Sandbox",
    "SandboxInstance",
    "SandboxProcess",
    "SandboxProcessManager",
    "SandboxProcessResponse",
    "SandboxProcessStream",
    "SandboxProcessLogs",
    "SandboxFileSystem",
    "SandboxFileInfo",
    "SandboxFilePosition",
    "SandboxFileSearchRange",
    "SandboxFileSearchMatch",
    "SandboxFileSearchResult",
    "SandboxDockerManager",
    "DockerResult",
    "DockerOutput",
    "SandboxError",
    "SandboxConnectionError",
    "SandboxProcessError",
    "SandboxFileSystemError",
    "ImageBuildError",
    "DockerDaemonNotReadyError",
    "DockerCommandError",
]
