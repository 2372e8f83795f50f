"""What the SDK's tests share: the images and warrend they run against.

The tests run against a real warrend (tests/integration/python_sdk.sh
starts one and sets the variables below):

- ``WARREN_HOST``: the warrend under test (its unix socket);
- ``WARREN_TEST_BUSYBOX``: a busybox image in the local registry;
- ``WARREN_TEST_DEBIAN``: a Debian image with Docker (docker.io) in it;
- ``WARREN_TEST_TCP``, ``WARREN_TEST_TOKEN``: the same warrend's TCP
  listener and its token;
- ``WARREN_TEST_PYTHON_IMAGE``, ``WARREN_TEST_INDEX`` (test_image only):
  python:3.11-slim in the local registry, and a package index on a test
  host the sandboxes' egress reaches.
"""

import os
import unittest
from typing import List

from warren import Image, Sandbox, SandboxInstance


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise unittest.SkipTest(f"${name} is not set (run tests/integration/python_sdk.sh)")
    return value


def busybox() -> Image:
    return Image.from_registry(env("WARREN_TEST_BUSYBOX"))


def debian() -> Image:
    return Image.from_registry(env("WARREN_TEST_DEBIAN"))


class Quiet:
    """A text sink that keeps what was written (create's progress lines)."""

    def __init__(self) -> None:
        self.parts: List[str] = []

    def write(self, s: str) -> int:
        self.parts.append(s)
        return len(s)

    def flush(self) -> None:
        pass

    @property
    def text(self) -> str:
        return "".join(self.parts)


class SandboxCase(unittest.TestCase):
    """A test class with one busybox sandbox for all its tests."""

    sandbox: SandboxInstance

    @classmethod
    def setUpClass(cls) -> None:
        cls.sandbox = Sandbox(image=busybox(), memory="256Mi").create(output=Quiet())

    @classmethod
    def tearDownClass(cls) -> None:
        cls.sandbox.terminate()

    def run_sh(self, script: str) -> str:
        """Runs a shell script in the sandbox; its stdout once it exited 0."""
        p = self.sandbox.process.exec("sh", "-c", script)
        code = p.wait()
        out = p.stdout.read()
        self.assertEqual(code, 0, f"`{script}` exited {code}: {p.stderr.read()}")
        return out
