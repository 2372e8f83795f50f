"""Sandboxes: create, connect, list, status, lifetime, ports, network
permissions, terminate, the context manager, and their errors."""

import http.client
import re
import time
import unittest
import uuid

from support import Quiet, busybox

from warren import Sandbox, SandboxConnectionError, SandboxError, SandboxInstance, SandboxProcessError


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Lifecycle(unittest.TestCase):
    def test_create_then_terminate(self) -> None:
        name = unique("sdk-life")
        sb = Sandbox(cpu=0.5, memory=256, image=busybox(), name=name, env={"GREETING": "hi"}, keep_warm_seconds=120).create(
            output=Quiet()
        )
        try:
            self.assertRegex(sb.sandbox_id(), r"^sb-[0-9a-f]{16}$")
            self.assertEqual(sb.status(), "running")
            self.assertIsNone(sb.poll())
            self.assertEqual(sb.info["name"], name)
            self.assertEqual(sb.info["cpu"], 0.5)
            self.assertEqual(sb.info["memory"], 256 * 1024 * 1024)
            self.assertEqual(sb.info["keep_warm_seconds"], 120)
            p = sb.process.exec("sh", "-c", "echo $GREETING")
            p.wait()
            self.assertEqual(p.stdout.read(), "hi\n")
        finally:
            self.assertTrue(sb.terminate())
        self.assertEqual(sb.status(), "stopped")
        self.assertEqual(sb.reason(), "deleted")
        self.assertEqual(sb.poll(), "stopped")
        self.assertEqual(sb.wait(timeout=5), "stopped")

    def test_connect_both_spellings_and_list(self) -> None:
        name = unique("sdk-conn")
        labels = {"suite": "sdk", "run": uuid.uuid4().hex[:8]}
        sb = Sandbox(image=busybox(), name=name, labels=labels).create(output=Quiet())
        try:
            a = Sandbox().connect(sb.sandbox_id())
            b = Sandbox.connect(name)
            self.assertIsInstance(a, SandboxInstance)
            self.assertEqual(a.sandbox_id(), sb.sandbox_id())
            self.assertEqual(b.sandbox_id(), sb.sandbox_id())
            found = Sandbox.list(labels=labels)
            self.assertEqual([s.sandbox_id() for s in found], [sb.sandbox_id()])
            self.assertEqual([s.sandbox_id() for s in Sandbox().list(name=name, state="running")], [sb.sandbox_id()])
            self.assertEqual(Sandbox.list(name=name, state="stopped"), [])
        finally:
            sb.terminate()

    def test_connect_unknown(self) -> None:
        with self.assertRaises(SandboxConnectionError) as cm:
            Sandbox.connect("sb-00000000deadbeef")
        self.assertEqual((cm.exception.kind, cm.exception.status), ("not_found", 404))
        self.assertIn("sb-00000000deadbeef", cm.exception.message)

    def test_name_taken(self) -> None:
        name = unique("sdk-dup")
        with Sandbox(image=busybox(), name=name).create(output=Quiet()):
            with self.assertRaises(SandboxConnectionError) as cm:
                Sandbox(image=busybox(), name=name).create(output=Quiet())
            self.assertEqual((cm.exception.kind, cm.exception.status), ("exists", 409))

    def test_context_manager_terminates(self) -> None:
        with Sandbox(image=busybox()).create(output=Quiet()) as sb:
            sid = sb.sandbox_id()
            self.assertEqual(sb.status(), "running")
        self.assertEqual(Sandbox.connect(sid).status(), "stopped")

    def test_terminated_sandbox_refuses_calls(self) -> None:
        sb = Sandbox(image=busybox()).create(output=Quiet())
        sb.terminate()
        with self.assertRaises(SandboxProcessError) as cm:
            sb.process.exec("true")
        self.assertEqual(cm.exception.kind, "unavailable")
        self.assertIn("stopped", cm.exception.message)
        with self.assertRaises(SandboxError):
            sb.fs.read_text("/etc/passwd")

    def test_wait_on_a_terminated_sandbox(self) -> None:
        sb = Sandbox(image=busybox()).create(output=Quiet())
        p = sb.process.exec("sleep", "60")
        Sandbox.connect(sb.sandbox_id()).terminate()
        start = time.monotonic()
        with self.assertRaises(SandboxProcessError) as cm:
            p.wait()
        self.assertEqual(cm.exception.kind, "unavailable")
        self.assertIn("not running", cm.exception.message)
        self.assertLess(time.monotonic() - start, 10)

    def test_update_ttl(self) -> None:
        with Sandbox(image=busybox(), keep_warm_seconds=300).create(output=Quiet()) as sb:
            sb.update_ttl(-1)
            self.assertEqual(sb.refresh()["keep_warm_seconds"], -1)
            sb.update_ttl(2)
            self.assertEqual(sb.info["keep_warm_seconds"], 2)
            # Two idle seconds later warrend ends it.
            self.assertEqual(sb.wait(timeout=30), "stopped")
            self.assertEqual(sb.reason(), "lifetime expired")
            with self.assertRaises(SandboxProcessError) as cm:
                sb.update_ttl(0)
            self.assertEqual(cm.exception.kind, "invalid")

    def test_bad_arguments(self) -> None:
        with self.assertRaises(SandboxError) as cm:
            Sandbox(gpu="A10G")
        self.assertIn("gpu", cm.exception.message)
        with self.assertRaises(SandboxError):
            Sandbox(volumes=["v"])
        with self.assertRaises(SandboxError):
            Sandbox(cpu="lots")
        with self.assertRaises(SandboxConnectionError) as cm:
            Sandbox(image=busybox(), cpu=1000).create(output=Quiet())
        self.assertEqual((cm.exception.kind, cm.exception.status), ("invalid", 400))
        self.assertIn("cpu", cm.exception.message)
        with self.assertRaises(SandboxConnectionError) as cm:
            Sandbox(image=busybox(), memory=1).create(output=Quiet())
        self.assertIn("memory", cm.exception.message)

    def test_memory_forms(self) -> None:
        self.assertEqual(Sandbox().spec()["memory"], 128 << 20)
        self.assertEqual(Sandbox(docker_enabled=True).spec()["memory"], 1024 << 20)
        self.assertEqual(Sandbox(memory=512).spec()["memory"], 512 << 20)
        self.assertEqual(Sandbox(memory="1Gi").spec()["memory"], "1Gi")
        self.assertEqual(Sandbox(cpu="500m").spec()["cpu"], 0.5)


class Ports(unittest.TestCase):
    def test_ports_at_create_and_expose(self) -> None:
        with Sandbox(image=busybox(), ports=[8080]).create(output=Quiet()) as sb:
            urls = sb.list_urls()
            self.assertEqual(list(urls), [8080])
            self.assertRegex(urls[8080], r"^http://127\.0\.0\.1:\d+$")
            sb.fs.write_text("/www/index.html", "served from the sandbox\n")
            server = sb.process.exec("httpd", "-f", "-p", "127.0.0.1:9000", "-h", "/www")
            url = sb.expose_port(9000)
            self.assertRegex(url, r"^http://127\.0\.0\.1:\d+$")
            self.assertEqual(sorted(sb.list_urls()), [8080, 9000])
            port = int(url.rsplit(":", 1)[1])
            body = b""
            for _ in range(50):
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    conn.request("GET", "/index.html")
                    body = conn.getresponse().read()
                    conn.close()
                    if body:
                        break
                except (OSError, http.client.HTTPException):
                    pass
                time.sleep(0.1)
            self.assertEqual(body, b"served from the sandbox\n")
            with self.assertRaises(SandboxProcessError) as cm:
                sb.expose_port(9000)
            self.assertEqual(cm.exception.kind, "exists")
            sb.unexpose_port(9000)
            self.assertEqual(list(sb.list_urls()), [8080])
            server.kill()


class Network(unittest.TestCase):
    def test_update_network_permissions(self) -> None:
        with Sandbox(image=busybox()).create(output=Quiet()) as sb:
            self.assertFalse(sb.info["block_network"])
            self.assertIsNone(sb.info["allow_list"])
            sb.update_network_permissions(block_network=True)
            self.assertTrue(sb.refresh()["block_network"])
            sb.update_network_permissions(allow_list=["10.1.2.3", "10.2.0.0/16"])
            self.assertFalse(sb.info["block_network"])
            self.assertEqual(sb.refresh()["allow_list"], ["10.1.2.3/32", "10.2.0.0/16"])
            sb.update_network_permissions()
            self.assertFalse(sb.info["block_network"])
            self.assertIsNone(sb.info["allow_list"])
            with self.assertRaises(SandboxConnectionError) as cm:
                sb.update_network_permissions(allow_list=["10.1.2.300"])
            self.assertEqual(cm.exception.kind, "invalid")
            self.assertIn("allow_list[0]", cm.exception.message)
            with self.assertRaises(SandboxConnectionError) as cm:
                sb.update_network_permissions(block_network=True, allow_list=["10.1.2.3"])
            self.assertIn("cannot go together", cm.exception.message)
            self.assertIsNone(sb.refresh()["allow_list"])

    def test_block_network_at_create(self) -> None:
        with Sandbox(image=busybox(), block_network=True).create(output=Quiet()) as sb:
            self.assertTrue(sb.info["block_network"])
            self.assertNotIn("nameserver", sb.fs.read_text("/etc/resolv.conf"))
        with self.assertRaises(SandboxConnectionError) as cm:
            Sandbox(image=busybox(), block_network=True, allow_list=["10.0.0.0/8"]).create(output=Quiet())
        self.assertIn("cannot go together", cm.exception.message)


if __name__ == "__main__":
    unittest.main()
