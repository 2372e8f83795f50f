"""The client: addresses, the unix socket, TCP with its token, errors."""

import os
import unittest

from support import env

from warren import Client, SandboxConnectionError, Sandbox
from warren.client import resolve_address


class Addresses(unittest.TestCase):
    def test_forms(self) -> None:
        self.assertEqual(resolve_address("/run/x.sock"), ("unix", "/run/x.sock", 0))
        self.assertEqual(resolve_address("unix:///run/x.sock"), ("unix", "/run/x.sock", 0))
        self.assertEqual(resolve_address("http://127.0.0.1:8080"), ("tcp", "127.0.0.1", 8080))

    def test_refused_forms(self) -> None:
        for bad in ("https://127.0.0.1:1", "unix://relative", "warrend:80", "http://h:1/path"):
            with self.assertRaises(SandboxConnectionError, msg=bad) as cm:
                resolve_address(bad)
            self.assertEqual(cm.exception.kind, "invalid")
            self.assertIsNone(cm.exception.status)

    def test_environment(self) -> None:
        saved = {k: os.environ.get(k) for k in ("WARREN_HOST", "WARREN_ROOT")}
        try:
            os.environ.pop("WARREN_HOST", None)
            os.environ["WARREN_ROOT"] = "/srv/w"
            self.assertEqual(resolve_address(None), ("unix", "/srv/w/run/warrend.sock", 0))
            os.environ.pop("WARREN_ROOT")
            self.assertEqual(resolve_address(None), ("unix", "/run/warren/warrend.sock", 0))
            os.environ["WARREN_HOST"] = "unix:///a/b.sock"
            self.assertEqual(resolve_address(None), ("unix", "/a/b.sock", 0))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


class Reaching(unittest.TestCase):
    def test_health_on_the_socket(self) -> None:
        env("WARREN_HOST")
        self.assertEqual(Client().health()["status"], "ok")

    def test_no_server(self) -> None:
        c = Client("/run/warren-test/no-such-dir/warrend.sock")
        with self.assertRaises(SandboxConnectionError) as cm:
            c.health()
        self.assertEqual(cm.exception.kind, "unavailable")
        self.assertIn("/run/warren-test/no-such-dir/warrend.sock", cm.exception.message)

    def test_tcp_with_the_token(self) -> None:
        c = Client(env("WARREN_TEST_TCP"), token=env("WARREN_TEST_TOKEN"))
        answer = c.request("GET", "/v1/version")
        self.assertIn("v1", answer["api_versions"])
        self.assertIsInstance(Sandbox(client=c).list(), list)

    def test_tcp_with_a_wrong_token(self) -> None:
        c = Client(env("WARREN_TEST_TCP"), token="not-the-token-0123456789")
        with self.assertRaises(SandboxConnectionError) as cm:
            c.request("GET", "/v1/version")
        self.assertEqual(cm.exception.status, 401)
        self.assertEqual(cm.exception.kind, "unauthorized")

    def test_tcp_token_from_environment(self) -> None:
        saved = os.environ.get("WARREN_TOKEN")
        os.environ["WARREN_TOKEN"] = env("WARREN_TEST_TOKEN")
        try:
            self.assertIn("version", Client(env("WARREN_TEST_TCP")).request("GET", "/v1/version"))
        finally:
            if saved is None:
                os.environ.pop("WARREN_TOKEN")
            else:
                os.environ["WARREN_TOKEN"] = saved

    def test_unknown_route_is_not_found(self) -> None:
        env("WARREN_HOST")
        with self.assertRaises(SandboxConnectionError) as cm:
            Client().request("GET", "/v1/nothing-here", error=SandboxConnectionError)
        self.assertEqual((cm.exception.kind, cm.exception.status), ("not_found", 404))


if __name__ == "__main__":
    unittest.main()
