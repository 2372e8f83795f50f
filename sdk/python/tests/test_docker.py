"""Docker in a Docker-enabled sandbox: the issue's program, the readiness
lines, and every sandbox.docker call against the sandbox's real dockerd
(images come from the local registry through warrend's mirror)."""

import contextlib
import io
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request

from support import Quiet, busybox, debian, env

from warren import DockerCommandError, DockerDaemonNotReadyError, DockerResult, Sandbox, SandboxInstance

READY_LINES = re.compile(
    r"^Waiting for Docker daemon to be ready \(timeout: 30s\)\.\.\.\n"
    r"Docker daemon is ready \(took [0-9]+\.[0-9]s\)\n"
)


class Program(unittest.TestCase):
    def test_the_issue_program(self) -> None:
        """The program users of beta9 write, with the test's image names."""
        env("WARREN_TEST_DEBIAN")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            sandbox = Sandbox(
                cpu=1,
                image=debian().with_docker(),
                docker_enabled=True,
            ).create()
            try:
                process = sandbox.docker.pull("busybox:latest")
                process.wait()
                print(process.stdout.read())
            finally:
                sandbox.terminate()
        text = out.getvalue()
        self.assertRegex(text, READY_LINES)
        self.assertIn("latest: Pulling from library/busybox", text)
        self.assertIn("docker.io/library/busybox:latest", text)

    def test_docker_not_enabled(self) -> None:
        with Sandbox(image=busybox()).create(output=Quiet()) as sb:
            with self.assertRaises(DockerDaemonNotReadyError) as cm:
                sb.docker.pull("busybox")
            self.assertEqual(cm.exception.kind, "invalid")
            self.assertIn("docker_enabled", cm.exception.message)
            with self.assertRaises(DockerDaemonNotReadyError):
                sb.docker.host

    def test_image_without_docker(self) -> None:
        with self.assertRaises(DockerDaemonNotReadyError) as cm:
            Sandbox(image=busybox(), docker_enabled=True).create(output=Quiet())
        self.assertIn("dockerd", cm.exception.message)


class Docker(unittest.TestCase):
    sandbox: SandboxInstance

    @classmethod
    def setUpClass(cls) -> None:
        cls.sandbox = Sandbox(image=debian().with_docker(), docker_enabled=True, memory="1Gi").create(output=Quiet())
        cls.docker = cls.sandbox.docker
        # WARREN_DOCKER_BACKEND chooses routes or the CLI (default: auto).
        first = cls.docker.pull("busybox")
        assert first.wait(), first.stderr
        cls.via_routes = first.via_routes

    def test_backend(self) -> None:
        wanted = os.environ.get("WARREN_DOCKER_BACKEND", "auto")
        if wanted != "auto":
            self.assertEqual(self.via_routes, wanted == "routes")
        self.assertEqual(self.docker.backend, wanted)
        # Without routes the command ran as a process in the sandbox.
        r = self.docker.tag("busybox", "sdk-backend:1")
        self.assertEqual(r.process is None, r.via_routes)
        self.assertEqual(r.via_routes, self.via_routes)
        self.assertTrue(self.docker.rmi("sdk-backend:1"))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.sandbox.terminate()

    def test_run_and_output(self) -> None:
        r = self.docker.run("busybox", ["sh", "-c", "echo $X; echo to-err >&2"], env={"X": "from-env"}, remove=True)
        self.assertIsInstance(r, DockerResult)
        self.assertTrue(r.wait())
        self.assertTrue(r.success)
        self.assertEqual(r.stdout.read(), "from-env\n")
        self.assertEqual(r.stdout, "from-env\n")
        self.assertEqual(r.stderr, "to-err\n")
        failed = self.docker.run("busybox", ["sh", "-c", "exit 5"], remove=True)
        self.assertFalse(failed.success)
        self.assertEqual(failed.exit_code, 5)
        with self.assertRaises(DockerCommandError) as cm:
            failed.check()
        self.assertEqual(cm.exception.exit_code, 5)

    def test_volumes(self) -> None:
        self.sandbox.fs.write_text("/srv/shared/in.txt", "volume contents\n")
        r = self.docker.run("busybox", ["cat", "/mnt/in.txt"], volumes={"/srv/shared": "/mnt:ro"}, remove=True)
        self.assertEqual(r.stdout, "volume contents\n")

    def test_detached_logs_stop_rm(self) -> None:
        r = self.docker.run("busybox", ["sh", "-c", "echo logged; sleep 60"], name="sdk-bg", detach=True)
        cid = r.output
        self.assertRegex(cid, r"^[0-9a-f]{64}$")
        self.assertIn(cid[:12], self.docker.ps(quiet=True))
        self.assertIn("sdk-bg", self.docker.ps())
        logs = self.docker.logs("sdk-bg")
        self.assertTrue(logs.wait())
        self.assertEqual(logs.stdout, "logged\n")
        self.assertTrue(self.docker.stop("sdk-bg"))
        self.assertNotIn(cid[:12], self.docker.ps(quiet=True))
        self.assertIn(cid[:12], self.docker.ps(all=True, quiet=True))
        self.assertTrue(self.docker.rm("sdk-bg"))
        self.assertNotIn(cid[:12], self.docker.ps(all=True, quiet=True))
        missing = self.docker.stop("sdk-no-such-container")
        self.assertFalse(missing)
        self.assertIn("sdk-no-such-container", missing.stderr)

    def test_exec(self) -> None:
        self.assertTrue(self.docker.run("busybox", ["sleep", "60"], name="sdk-ex", detach=True, pid="host"))
        e = self.docker.exec("sdk-ex", ["sh", "-c", "echo inside; exit 3"])
        e.wait(timeout=60)
        self.assertEqual(e.exit_code, 3)
        self.assertEqual(e.stdout, "inside\n")
        # gVisor cannot enter a nested PID namespace: without pid="host" an
        # exec fails with runc's message (docs/python.md).
        self.assertTrue(self.docker.run("busybox", ["sleep", "60"], name="sdk-own-pid", detach=True))
        own = self.docker.exec("sdk-own-pid", ["echo", "inside"])
        self.assertFalse(own.wait(timeout=60))
        self.assertIn("setns", own.stdout + own.stderr)
        self.assertTrue(self.docker.rm("sdk-own-pid", force=True))
        self.assertTrue(self.docker.rm("sdk-ex", force=True))

    def test_build_tag_rmi(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "Dockerfile"), "w") as f:
                f.write("FROM busybox\nCOPY msg.txt /msg.txt\nCMD [\"cat\", \"/msg.txt\"]\n")
            with open(os.path.join(d, "msg.txt"), "w") as f:
                f.write("built from an uploaded context\n")
            b = self.docker.build("sdk-built:1", context=d)
            self.assertTrue(b.wait(), b.stderr)
        run = self.docker.run("sdk-built:1", remove=True)
        self.assertEqual(run.stdout, "built from an uploaded context\n")
        self.assertTrue(self.docker.tag("sdk-built:1", "sdk-built:2"))
        self.assertIn("sdk-built", self.docker.images())
        self.assertTrue(self.docker.rmi("sdk-built:2"))
        self.assertFalse(self.docker.rmi("sdk-no-such-image:1"))
        self.assertFalse(self.docker.tag("sdk-no-such-image:1", "x:1"))

    def test_push_and_login_fail_plainly(self) -> None:
        # The sandbox reaches no registry but warrend's mirror, which serves
        # pulls: a push fails, with Docker's message.
        self.assertTrue(self.docker.tag("busybox", "127.0.0.1:5999/sdk/pushed:1"))
        pushed = self.docker.push("127.0.0.1:5999/sdk/pushed:1")
        self.assertFalse(pushed)
        self.assertTrue(pushed.stderr.strip())
        with self.assertRaises(DockerCommandError):
            self.docker.login()  # no credentials given, none in the sandbox
        login = self.docker.login("user", "secret-password", registry="127.0.0.1:1")
        self.assertFalse(login)
        self.assertNotIn("secret-password", " ".join(login.command))

    def test_volumes_api(self) -> None:
        self.assertTrue(self.docker.volume_create("sdk-vol"))
        self.assertIn("sdk-vol", self.docker.volume_ls(quiet=True))
        self.assertIn("sdk-vol", self.docker.volume_ls())
        self.assertTrue(self.docker.volume_rm("sdk-vol"))
        self.assertNotIn("sdk-vol", self.docker.volume_ls(quiet=True))
        self.assertFalse(self.docker.volume_rm("sdk-vol"))

    def test_compose_without_compose(self) -> None:
        # The test image has Docker but no Compose: the call says so.
        up = self.docker.compose_up(file="/nonexistent.yml")
        self.assertFalse(up.wait())
        self.assertEqual(up.exit_code, 127)
        self.assertIn("docker-compose", up.stderr)
        with self.assertRaises(DockerCommandError):
            self.docker.compose_ps()

    def test_host_network_port_exposed(self) -> None:
        with self.assertRaises(DockerCommandError) as cm:
            self.docker.run("busybox", ["true"], ports={80: 8080}, network="host")
        self.assertIn("map each port to itself", cm.exception.message)
        self.sandbox.fs.write_text("/srv/www/index.html", "from a nested container\n")
        web = self.docker.run(
            "busybox",
            ["httpd", "-f", "-p", "8090", "-h", "/www"],
            name="sdk-web",
            detach=True,
            network="host",
            ports={8090: 8090},
            volumes={"/srv/www": "/www:ro"},
        )
        self.assertTrue(web.success, web.stderr)
        url = self.sandbox.expose_port(8090)
        body = b""
        for _ in range(50):
            try:
                with urllib.request.urlopen(url + "/index.html", timeout=5) as f:
                    body = f.read()
                break
            except OSError:
                time.sleep(0.1)
        self.assertEqual(body, b"from a nested container\n")
        self.assertTrue(self.docker.rm("sdk-web", force=True))
        self.sandbox.unexpose_port(8090)

    def test_published_port_exposed(self) -> None:
        self.sandbox.fs.write_text("/srv/pub/index.html", "published from the bridge\n")
        web = self.docker.run(
            "busybox",
            ["httpd", "-f", "-p", "80", "-h", "/www"],
            name="sdk-pub",
            detach=True,
            ports={80: 8091},
            volumes={"/srv/pub": "/www:ro"},
        )
        self.assertTrue(web.success, web.stderr)
        url = self.sandbox.expose_port(8091)
        body = b""
        for _ in range(50):
            try:
                with urllib.request.urlopen(url + "/index.html", timeout=5) as f:
                    body = f.read()
                break
            except OSError:
                time.sleep(0.1)
        self.assertEqual(body, b"published from the bridge\n")
        self.assertTrue(self.docker.rm("sdk-pub", force=True))
        self.sandbox.unexpose_port(8091)

    def test_unsupported_arguments_raise(self) -> None:
        with self.assertRaises(TypeError):
            self.docker.run("busybox", gpus="all")
        with self.assertRaises(TypeError):
            self.docker.exec("x", ["true"], privileged=True)

    def test_host_socket(self) -> None:
        host = self.docker.host
        self.assertTrue(host.startswith("unix:///"))
        self.assertEqual(host, "unix://" + self.sandbox.info["docker_socket"])
        if shutil.which("docker") is None:
            self.skipTest("no docker CLI on the host")
        out = subprocess.run(
            ["docker", "-H", host, "images", "-q", "busybox"], capture_output=True, text=True, timeout=60
        )
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(set(out.stdout.split()), set(self.docker.images(quiet=True)) & set(out.stdout.split()))
        self.assertTrue(out.stdout.split())
        every = subprocess.run(["docker", "-H", host, "images", "-q"], capture_output=True, text=True, timeout=60)
        self.assertEqual(sorted(set(every.stdout.split())), sorted(set(self.docker.images(quiet=True))))


if __name__ == "__main__":
    unittest.main()
