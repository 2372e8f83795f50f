"""Processes: exec, exit codes, independent output readers while it runs,
logs, stdin, kill, wait with a timeout, list and get, run_code."""

import threading
import time
import unittest

from support import SandboxCase

from warren import SandboxProcessError, SandboxProcessResponse

# busybox has no Python: run_code's tests put a stand-in for python3 in the
# sandbox that runs `python3 -c CODE` as `sh -c CODE`, which shows the SDK
# hands the code over as python3's -c argument, untouched.
FAKE_PYTHON = '#!/bin/sh\n[ "$1" = -c ] || { echo "usage: python3 -c CODE" >&2; exit 2; }\nshift\nexec sh -c "$@"\n'


class Processes(SandboxCase):
    def test_exit_code_and_streams(self) -> None:
        p = self.sandbox.process.exec("sh", "-c", "echo out; echo err >&2; exit 7")
        self.assertRegex(p.pid, r"^p\d+$")
        self.assertEqual(p.wait(), 7)
        self.assertEqual(p.exit_code, 7)
        self.assertEqual(p.status(), (7, "exited"))
        self.assertEqual(p.stdout.read(), "out\n")
        self.assertEqual(p.stderr.read(), "err\n")
        self.assertEqual(sorted(p.logs.read().splitlines()), ["err", "out"])

    def test_list_form_cwd_env(self) -> None:
        p = self.sandbox.process.exec(["sh", "-c", "pwd; echo $A-$B"], cwd="/tmp", env={"A": "1", "B": "two"})
        p.wait()
        self.assertEqual(p.stdout.read(), "/tmp\n1-two\n")

    def test_program_missing(self) -> None:
        with self.assertRaises(SandboxProcessError) as cm:
            self.sandbox.process.exec("/no/such/program")
        self.assertEqual((cm.exception.kind, cm.exception.status), ("not_found", 404))
        self.assertIn("/no/such/program", cm.exception.message)

    def test_lines_while_it_runs(self) -> None:
        p = self.sandbox.process.exec("sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.4; done")
        seen = []
        stamps = []
        for line in p.stdout:
            seen.append(line)
            stamps.append(time.monotonic())
        self.assertEqual(seen, ["line1\n", "line2\n", "line3\n"])
        # The lines came as they were written, not all at the end.
        self.assertGreater(stamps[2] - stamps[0], 0.5)
        self.assertEqual(p.wait(), 0)

    def test_readers_are_independent(self) -> None:
        p = self.sandbox.process.exec("sh", "-c", "echo a; sleep 0.5; echo b")
        first, second = p.stdout, p.stdout
        got = {}

        def follow(name, stream):
            got[name] = list(stream)

        threads = [threading.Thread(target=follow, args=(n, s)) for n, s in (("x", first), ("y", second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(got["x"], ["a\n", "b\n"])
        self.assertEqual(got["y"], ["a\n", "b\n"])
        # Reading consumed nothing: a third reader still has it all; a
        # reader that read everything has nothing more.
        third = p.stdout
        self.assertEqual(third.read(), "a\nb\n")
        self.assertEqual(third.read(), "")

    def test_logs_lines_of_both(self) -> None:
        p = self.sandbox.process.exec("sh", "-c", "echo o1; sleep 0.3; echo e1 >&2; sleep 0.3; printf tail")
        lines = list(p.logs)
        self.assertEqual(lines, ["o1\n", "e1\n", "tail"])

    def test_stdin(self) -> None:
        p = self.sandbox.process.exec("sh", "-c", "read a; read b; echo got:$a:$b", stdin=True)
        p.send_stdin("one\n")
        p.send_stdin(b"two\n", close=True)
        self.assertEqual(p.wait(), 0)
        self.assertEqual(p.stdout.read(), "got:one:two\n")

    def test_stdin_not_opened(self) -> None:
        p = self.sandbox.process.exec("sleep", "5")
        with self.assertRaises(SandboxProcessError) as cm:
            p.send_stdin("x")
        self.assertEqual(cm.exception.kind, "invalid")
        self.assertIn("stdin", cm.exception.message)
        p.kill()

    def test_kill_and_wait_timeout(self) -> None:
        p = self.sandbox.process.exec("sleep", "60")
        with self.assertRaises(SandboxProcessError) as cm:
            p.wait(timeout=0.5)
        self.assertEqual(cm.exception.kind, "unavailable")
        self.assertEqual(p.status(), (-1, "running"))
        p.kill()
        self.assertEqual(p.wait(timeout=10), 128 + 9)
        self.assertEqual(p.signal, 9)
        self.assertEqual(p.status()[1], "signaled")

    def test_list_and_get(self) -> None:
        p = self.sandbox.process.exec("sh", "-c", "exit 3")
        p.wait()
        listed = self.sandbox.process.list_processes()
        self.assertIn(p.pid, listed)
        self.assertEqual(listed[p.pid].exit_code, 3)
        self.assertEqual(listed[p.pid].args, ["sh", "-c", "exit 3"])
        again = self.sandbox.process.get_process(p.pid)
        self.assertEqual((again.pid, again.exit_code), (p.pid, 3))
        self.assertEqual(again.stdout.read(), "")
        with self.assertRaises(SandboxProcessError) as cm:
            self.sandbox.process.get_process("p999999")
        self.assertEqual(cm.exception.kind, "not_found")

    def test_run_code(self) -> None:
        self.sandbox.fs.write_text("/usr/local/bin/python3", FAKE_PYTHON, mode=0o755)
        r = self.sandbox.process.run_code("echo from-code; echo oops >&2; exit 4")
        self.assertIsInstance(r, SandboxProcessResponse)
        self.assertEqual(r.exit_code, 4)
        self.assertEqual(r.stdout, "from-code\n")
        self.assertEqual(r.result, "from-code\noops\n")
        p = self.sandbox.process.run_code("sleep 0.3; echo later", blocking=False)
        self.assertEqual(p.wait(), 0)
        self.assertEqual(p.stdout.read(), "later\n")


if __name__ == "__main__":
    unittest.main()
