"""Images as values: a reference and the steps to build on top of it.

An :class:`Image` never changes: each method returns a new one.  It becomes
the ``image`` of the create body (docs/api.md, "The create body"): a plain
reference when there is nothing to build, else ``{"ref": ..., "steps": [...]}``
or ``{"ref": ..., "dockerfile": TEXT}``.  warrend builds it when the sandbox
is created (``Sandbox.create()``), with its progress on the create's stream.

``with_docker()`` adds warrend's ``with_docker`` step after the others
(docs/images.md): on an image that has ``dockerd`` already (warren's Debian
images with ``docker.io``) it only selects ``iptables-legacy`` (gVisor has
no nftables) and needs no network; on a Debian or Ubuntu image without
Docker it installs ``docker.io`` with apt-get, over the sandbox's egress
(build steps get the sandbox's network, its ``block_network`` and
``allow_list`` included).  Its result is cached by warrend like every step.  On an
image from a Dockerfile (which takes no steps) it adds nothing: put Docker
in the Dockerfile.  A sandbox created with ``docker_enabled=True`` from an
image without ``dockerd`` fails its create with warrend's message, raised
as :class:`DockerDaemonNotReadyError`.

``add_local_path()`` cannot be a build step (the API takes no files from
clients at build time): its paths are uploaded into each sandbox once it
runs, before ``create()`` returns.
"""

import os
import re
import shlex
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from .exceptions import ImageBuildError

__all__ = ["Image", "ImageBuildResult", "DEFAULT_PYTHON_VERSION"]

DEFAULT_PYTHON_VERSION = "python3.11"
_DOCKERFILE_MAX = 256 * 1024


class ImageBuildResult(NamedTuple):
    """What :meth:`Image.build` found: whether the image is usable, and the
    reference warrend creates sandboxes from."""

    success: bool = False
    image_id: str = ""


EnvVars = Union[str, Sequence[str], Dict[str, str]]


def _env_dict(env_vars: EnvVars) -> Dict[str, str]:
    if isinstance(env_vars, dict):
        items = list(env_vars.items())
    else:
        if isinstance(env_vars, str):
            env_vars = [env_vars]
        items = []
        for s in env_vars:
            if "=" not in s:
                raise ImageBuildError(f"with_envs: `{s}` is not KEY=VALUE", "invalid")
            k, v = s.split("=", 1)
            items.append((k, v))
    out: Dict[str, str] = {}
    for k, v in items:
        if not isinstance(k, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            raise ImageBuildError(f"with_envs: `{k}` is not a valid variable name", "invalid")
        out[k] = str(v)
    return out


def _dockerfile_base(text: str, path: str) -> str:
    """The first FROM's image of a Dockerfile (the create body's ``ref``)."""
    args: Dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        op = words[0].upper()
        if op == "ARG" and len(words) > 1 and "=" in words[1]:
            k, v = words[1].split("=", 1)
            args[k] = v.strip("\"'")
            continue
        if op == "FROM":
            rest = [w for w in words[1:] if not w.startswith("--")]
            if not rest:
                break
            ref = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m.group(1), m.group(0)), rest[0])
            return ref
        if op not in ("ARG",):
            break
    raise ImageBuildError(f"Dockerfile `{path}`: no FROM line before its first instruction", "invalid")


class Image:
    """A container image: a base reference and what to build on it.

    Args:
        python_version: the Python of the default base image
            (``python3.11`` means ``docker.io/library/python:3.11-slim``);
            ignored when ``base_image`` is given.
        python_packages: packages for ``pip install`` (a list, or a path to
            a requirements file), as :meth:`add_python_packages` adds them.
        commands: shell commands to run on the image, as
            :meth:`add_commands` adds them.
        base_image: a reference (``ubuntu:22.04``,
            ``127.0.0.1:5000/a/b:tag``, ``name@sha256:...``).
        base_image_creds: registry credentials.  warrend takes registry
            credentials from its own ``--auth-config``, never from a client:
            anything but ``None`` raises :class:`ImageBuildError`.
        env_vars: environment variables of the image, as :meth:`with_envs`
            sets them.
    """

    def __init__(
        self,
        python_version: str = DEFAULT_PYTHON_VERSION,
        python_packages: Union[List[str], str] = (),  # type: ignore[assignment]
        commands: List[str] = (),  # type: ignore[assignment]
        base_image: Optional[str] = None,
        base_image_creds: Optional[object] = None,
        env_vars: Optional[EnvVars] = None,
    ):
        if base_image_creds:
            raise ImageBuildError(
                "base_image_creds: warrend reads registry credentials from its --auth-config "
                "(docs/daemon.md), not from clients",
                "invalid",
            )
        if base_image is None:
            version = python_version[len("python") :] if python_version.startswith("python") else python_version
            base_image = f"docker.io/library/python:{version}-slim"
        if not isinstance(base_image, str) or not base_image:
            raise ImageBuildError("base_image: must be a non-empty reference", "invalid")
        self._ref: str = base_image
        self._steps: Tuple[Dict[str, object], ...] = ()
        self._dockerfile: Optional[str] = None
        self._context_dir: Optional[str] = None
        self._docker: bool = False
        self._local_paths: Tuple[Tuple[str, str], ...] = ()
        self.python_version: str = python_version
        img = self
        if env_vars:
            img = img.with_envs(env_vars)
        if commands:
            img = img.add_commands(list(commands))
        if python_packages:
            img = img.add_python_packages(python_packages)
        self._steps = img._steps

    def _copy(self, **changes: object) -> "Image":
        new = Image.__new__(Image)
        new.__dict__.update(self.__dict__)
        for k, v in changes.items():
            setattr(new, "_" + k, v)
        return new

    def _add_step(self, step: Dict[str, object]) -> "Image":
        if self._dockerfile is not None:
            raise ImageBuildError(
                "an image from a Dockerfile takes no further steps (warrend builds a Dockerfile "
                "or steps, not both): put them in the Dockerfile",
                "invalid",
            )
        return self._copy(steps=self._steps + (step,))

    # ---- constructors ----

    @classmethod
    def from_registry(cls, image: str, credentials: Optional[object] = None) -> "Image":
        """An image from a registry, by reference (``ubuntu:22.04`` is
        ``docker.io/library/ubuntu:22.04``; warrend pulls it through its
        ``--docker-io-mirror`` when it has one).

        ``credentials`` are refused (:class:`ImageBuildError`): warrend uses
        its own ``--auth-config`` for private registries.
        """
        if credentials:
            raise ImageBuildError(
                "credentials: warrend reads registry credentials from its --auth-config "
                "(docs/daemon.md), not from clients",
                "invalid",
            )
        if not isinstance(image, str) or not image.strip():
            raise ImageBuildError("from_registry: the reference is empty", "invalid")
        return cls(base_image=image)

    @classmethod
    def from_dockerfile(cls, path: str, context_dir: Optional[str] = None) -> "Image":
        """An image built from the Dockerfile at the local ``path``, its text
        sent to warrend (at most 256 KiB), which builds it when a sandbox is
        created from it.  Its ``FROM`` is the base reference.

        warrend reads one stage: ``FROM`` (once), ``RUN``, ``ENV``,
        ``WORKDIR``, ``USER``, ``CMD``, ``ENTRYPOINT``, ``EXPOSE``,
        ``LABEL`` and ``ARG`` (docs/python.md); anything else makes
        ``create()`` raise :class:`ImageBuildError` naming the line.
        ``COPY SOURCE... DESTINATION`` takes files from ``context_dir``
        (default: the Dockerfile's directory), sent to warrend as a tar
        when the sandbox is created, without what its ``.dockerignore``
        excludes; sources are paths in the context (no wildcards) and
        ``ADD`` is refused.
        """
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise ImageBuildError(f"Dockerfile `{path}`: {e.strerror}", "not_found" if isinstance(e, FileNotFoundError) else "invalid") from e
        if not text.strip():
            raise ImageBuildError(f"Dockerfile `{path}` is empty", "invalid")
        if len(text.encode("utf-8")) > _DOCKERFILE_MAX:
            raise ImageBuildError(f"Dockerfile `{path}` is larger than 256 KiB", "limit")
        context = os.path.abspath(context_dir if context_dir is not None else os.path.dirname(os.path.abspath(path)))
        if not os.path.isdir(context):
            raise ImageBuildError(f"from_dockerfile: context_dir `{context}` is not a directory", "not_found")
        uses_context = any(
            ln.strip().split()[0].upper() == "COPY" for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")
        )
        img = cls(base_image=_dockerfile_base(text, path))
        return img._copy(dockerfile=text, context_dir=context if uses_context else None)

    # ---- steps ----

    def add_commands(self, commands: Union[str, Sequence[str]]) -> "Image":
        """Runs each shell command (``sh -c``) on the image, in order; their
        changes become a layer."""
        if isinstance(commands, str):
            commands = [commands]
        commands = list(commands)
        if not commands or any(not isinstance(c, str) or not c.strip() for c in commands):
            raise ImageBuildError("add_commands: give one or more non-empty commands", "invalid")
        return self._add_step({"run": commands})

    def run_commands(self, commands: Union[str, Sequence[str]]) -> "Image":
        """The same as :meth:`add_commands`."""
        return self.add_commands(commands)

    def with_envs(self, env_vars: EnvVars, clear: bool = False) -> "Image":
        """Sets environment variables in the image's config (``{"K": "V"}``,
        ``["K=V", ...]`` or ``"K=V"``).  ``clear=True`` is refused: warrend's
        env step adds variables, it cannot remove the base's."""
        if clear:
            raise ImageBuildError("with_envs: clear=True is not supported (the env step only adds)", "invalid")
        env = _env_dict(env_vars)
        if not env:
            raise ImageBuildError("with_envs: no variable", "invalid")
        return self._add_step({"env": env})

    def add_python_packages(self, packages: Union[str, Sequence[str]]) -> "Image":
        """Installs Python packages with ``python3 -m pip install`` (a list of
        requirement strings, or the local path of a requirements file).  The
        image must have ``python3`` with pip, and the build sandbox must reach
        a package index."""
        if isinstance(packages, str):
            try:
                with open(packages, encoding="utf-8") as f:
                    packages = [
                        ln.strip() for ln in f.read().splitlines() if ln.strip() and not ln.strip().startswith("#")
                    ]
            except OSError as e:
                raise ImageBuildError(f"requirements file `{packages}`: {e.strerror}", "not_found") from e
        pkgs = [p.replace(" ", "") for p in packages]
        if not pkgs or any(not p for p in pkgs):
            raise ImageBuildError("add_python_packages: give one or more packages", "invalid")
        cmd = "python3 -m pip install --no-cache-dir " + " ".join(shlex.quote(p) for p in pkgs)
        return self._add_step({"run": [cmd]})

    def with_docker(self) -> "Image":
        """Adds warrend's ``with_docker`` step, after every other step: it
        installs Docker from the distribution, or on an image that has
        ``dockerd`` already only selects ``iptables-legacy`` (see the
        module's documentation)."""
        return self._copy(docker=True)

    def add_local_path(self, path: str, remote_path: Optional[str] = None) -> "Image":
        """A local file or directory to put in each sandbox made from this
        image, at ``remote_path`` (default: the same absolute path).  It is
        uploaded once the sandbox runs, before ``create()`` returns."""
        local = os.path.abspath(path)
        if not os.path.exists(local):
            raise ImageBuildError(f"add_local_path: `{path}` does not exist", "not_found")
        remote = remote_path if remote_path is not None else local
        if not remote.startswith("/"):
            raise ImageBuildError(f"add_local_path: `{remote}` is not an absolute path", "invalid")
        return self._copy(local_paths=self._local_paths + ((local, remote),))

    # ---- what it is ----

    @property
    def ref(self) -> str:
        """The base reference."""
        return self._ref

    @property
    def steps(self) -> List[Dict[str, object]]:
        """The build steps, as the create body gives them."""
        steps = [dict(s) for s in self._steps]
        if self._docker and self._dockerfile is None:
            steps.append({"with_docker": True})
        return steps

    @property
    def docker(self) -> bool:
        """Whether :meth:`with_docker` was called."""
        return self._docker

    @property
    def local_paths(self) -> List[Tuple[str, str]]:
        """``(local, remote)`` pairs uploaded into each sandbox."""
        return list(self._local_paths)

    @property
    def context_dir(self) -> Optional[str]:
        """The build context of a Dockerfile that has ``COPY``, or ``None``."""
        return self._context_dir

    def to_spec(self, context: Optional[str] = None) -> Union[str, Dict[str, object]]:
        """The create body's ``image``: a reference, or an object with ``ref``
        and ``steps`` or ``dockerfile`` (and ``context``, the digest of its
        uploaded build context)."""
        if self._dockerfile is not None:
            spec: Dict[str, object] = {"ref": self._ref, "dockerfile": self._dockerfile}
            if context is not None:
                spec["context"] = context
            return spec
        steps = self.steps
        if not steps:
            return self._ref
        return {"ref": self._ref, "steps": steps}

    def build(self) -> ImageBuildResult:
        """Checks the image can be used as it is.  warrend has no build route
        of its own: it builds an image when a sandbox is created from it.  A
        plain reference needs no build (``success=True``, its reference); an
        image with steps or a Dockerfile raises :class:`ImageBuildError`
        telling to create a sandbox from it."""
        spec = self.to_spec()
        if isinstance(spec, str):
            return ImageBuildResult(success=True, image_id=spec)
        raise ImageBuildError(
            "Image.build: warrend builds images when a sandbox is created from them "
            "(Sandbox(image=...).create()); it has no separate build call",
            "unavailable",
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Image) and (self.to_spec(), self._docker, self._local_paths) == (
            other.to_spec(),
            other._docker,
            other._local_paths,
        )

    def __hash__(self) -> int:
        return hash((repr(self.to_spec()), self._docker, self._local_paths))

    def __repr__(self) -> str:
        return f"Image({self.to_spec()!r}{', with_docker' if self._docker else ''})"
