"""The asyncio calls: the same calls, awaited, with the loop free meanwhile."""

import asyncio
import time
import unittest

from support import Quiet, busybox, debian, env

from warren import (
    DockerDaemonNotReadyError,
    Image,
    ImageBuildError,
    Sandbox,
    SandboxConnectionError,
    SandboxError,
    SandboxFileSystemError,
    SandboxProcessError,
)


class Async(unittest.IsolatedAsyncioTestCase):
    async def test_sandbox_process_fs(self) -> None:
        sb = await Sandbox(image=busybox()).aio.create(output=Quiet())
        try:
            self.assertEqual(await sb.status(), "running")
            p = await sb.process.exec("sh", "-c", "echo one; sleep 0.5; echo two; exit 2")
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.05)
                    ticks += 1

            t = asyncio.create_task(ticker())
            lines = [line async for line in p.stdout]
            t.cancel()
            self.assertEqual(lines, ["one\n", "two\n"])
            self.assertGreater(ticks, 3)  # the loop ran while the lines came
            self.assertEqual(await p.wait(), 2)
            self.assertEqual(await p.stdout.read(), "one\ntwo\n")
            await sb.fs.write_text("/tmp/a.txt", "async\n")
            self.assertEqual(await sb.fs.read_text("/tmp/a.txt"), "async\n")
            with self.assertRaises(SandboxFileSystemError) as cm:
                await sb.fs.read_text("/nope")
            self.assertEqual(cm.exception.kind, "not_found")
            with self.assertRaises(SandboxProcessError):
                await sb.process.exec("/no/such")
            procs = await sb.process.list_processes()
            self.assertIn(p.sync.pid, procs)
            self.assertEqual(await sb.sandbox_id(), sb.sync.container_id)
        finally:
            self.assertTrue(await sb.terminate())

    async def test_concurrent_creates(self) -> None:
        start = time.monotonic()
        boxes = await asyncio.gather(*(Sandbox(image=busybox()).aio.create(output=Quiet()) for _ in range(2)))
        try:
            ids = {await b.sandbox_id() for b in boxes}
            self.assertEqual(len(ids), 2)
            outs = await asyncio.gather(*(b.process.exec("echo", "hi") for b in boxes))
            for o in outs:
                self.assertEqual(await o.wait(), 0)
        finally:
            for b in boxes:
                await b.terminate()
        self.assertLess(time.monotonic() - start, 60)

    async def test_docker(self) -> None:
        sb = await Sandbox(image=debian(), docker_enabled=True).aio.create(output=Quiet())
        try:
            r = await sb.docker.pull("busybox")
            self.assertTrue(await r.wait())
            self.assertIn("docker.io/library/busybox:latest", await r.get("stdout"))
            run = await sb.docker.run("busybox", ["echo", "async-nested"], remove=True)
            self.assertEqual(await run.get("stdout"), "async-nested\n")
            self.assertIn("busybox", await sb.docker.images())
        finally:
            await sb.terminate()

    async def test_connect_error(self) -> None:
        with self.assertRaises(SandboxConnectionError) as cm:
            await Sandbox().aio.connect("sb-00000000deadbeef")
        self.assertEqual(cm.exception.kind, "not_found")

    async def test_errors(self) -> None:
        """The issue's errors, awaited: a bad image name, Docker not enabled,
        a process that fails, a file that does not exist, an argument the
        SDK cannot honour, a build step that fails, a terminated sandbox."""
        registry = env("WARREN_TEST_BUSYBOX").split("/")[0]
        with self.assertRaises(ImageBuildError) as cm:
            await Sandbox(image=Image.from_registry(f"{registry}/library/no-such-image:1")).aio.create(output=Quiet())
        self.assertEqual(cm.exception.kind, "not_found")
        with self.assertRaises(ImageBuildError) as cm:
            await Sandbox(image=busybox().add_commands("exit 9")).aio.create(output=Quiet())
        self.assertIn("status 9", cm.exception.message)
        sb = await Sandbox(image=busybox()).aio.create(output=Quiet())
        try:
            with self.assertRaises(DockerDaemonNotReadyError):
                await sb.docker.pull("busybox")
            p = await sb.process.exec("sh", "-c", "echo failing >&2; exit 4")
            self.assertEqual(await p.wait(), 4)
            self.assertEqual(await p.stderr.read(), "failing\n")
            with self.assertRaises(SandboxFileSystemError) as cm:
                await sb.fs.download_file("/no/such/file", "/tmp/never-written")
            self.assertEqual(cm.exception.kind, "not_found")
            with self.assertRaises(SandboxError) as cm:
                await Sandbox(image=busybox(), gpu="A10G").aio.create(output=Quiet())
            self.assertIn("gpu", cm.exception.message)
        finally:
            self.assertTrue(await sb.terminate())
        with self.assertRaises(SandboxError):
            await sb.process.exec("true")

    async def test_context_manager(self) -> None:
        async with await Sandbox(image=busybox()).aio.create(output=Quiet()) as sb:
            sid = await sb.sandbox_id()
        self.assertEqual(Sandbox.connect(sid).status(), "stopped")


if __name__ == "__main__":
    unittest.main()
