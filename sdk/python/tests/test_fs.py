"""Files: write, read, upload, download, stat, list, directories, removal,
find and replace, and the errors of each."""

import hashlib
import os
import tempfile
import unittest

from support import SandboxCase

from warren import SandboxFileSystemError


class Files(SandboxCase):
    def test_text_and_bytes(self) -> None:
        fs = self.sandbox.fs
        info = fs.write_text("/data/t/hello.txt", "héllo\n", mode=0o640)
        self.assertEqual(info.size, len("héllo\n".encode()))
        self.assertEqual(fs.read_text("/data/t/hello.txt"), "héllo\n")
        blob = bytes(range(256)) * 4
        fs.write_bytes("/data/t/blob", blob)
        self.assertEqual(fs.read_bytes("/data/t/blob"), blob)
        self.assertEqual(fs.read_bytes("/data/t/blob", offset=10, length=5), blob[10:15])
        st = fs.stat_file("/data/t/hello.txt")
        self.assertEqual(st.mode, 0o640)
        self.assertFalse(st.is_dir)
        self.assertEqual(self.run_sh("stat -c %a /data/t/hello.txt"), "640\n")

    def test_upload_download_large(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "src.bin")
            data = os.urandom(3 * 1024 * 1024 + 17)
            with open(src, "wb") as f:
                f.write(data)
            os.chmod(src, 0o600)
            info = self.sandbox.fs.upload_file(src, "/data/up/big.bin")
            self.assertEqual(info.size, len(data))
            self.assertEqual(self.sandbox.fs.stat_file("/data/up/big.bin").mode, 0o600)
            self.assertEqual(self.run_sh("sha256sum /data/up/big.bin").split()[0], hashlib.sha256(data).hexdigest())
            dst = os.path.join(d, "back.bin")
            self.assertEqual(self.sandbox.fs.download_file("/data/up/big.bin", dst), len(data))
            with open(dst, "rb") as f:
                self.assertEqual(f.read(), data)

    def test_missing(self) -> None:
        fs = self.sandbox.fs
        for call in (
            lambda: fs.read_text("/no/such/file"),
            lambda: fs.stat_file("/no/such/file"),
            lambda: fs.list_files("/no/such/dir"),
            lambda: fs.delete_file("/no/such/file"),
        ):
            with self.assertRaises(SandboxFileSystemError) as cm:
                call()
            self.assertEqual((cm.exception.kind, cm.exception.status), ("not_found", 404))
            self.assertIn("/no/such/", cm.exception.message)
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(SandboxFileSystemError) as cm:
                fs.download_file("/no/such/file", os.path.join(d, "x"))
            self.assertEqual(cm.exception.kind, "not_found")
            self.assertFalse(os.listdir(d))
        with self.assertRaises(SandboxFileSystemError) as cm:
            fs.upload_file("/no/such/local/file", "/tmp/x")
        self.assertEqual(cm.exception.kind, "not_found")
        self.assertFalse(fs.exists("/no/such/file"))

    def test_directories(self) -> None:
        fs = self.sandbox.fs
        fs.create_directory("/data/d/a/b", mode=0o750)
        self.assertTrue(fs.stat_file("/data/d/a/b").is_dir)
        self.assertEqual(fs.stat_file("/data/d/a/b").mode, 0o750)
        fs.write_text("/data/d/a/one.txt", "1")
        fs.write_text("/data/d/a/b/two.txt", "22")
        names = sorted(f.name for f in fs.list_files("/data/d/a"))
        self.assertEqual(names, ["b", "one.txt"])
        deep = {f.name: f.size for f in fs.list_files("/data/d/a", recursive=True)}
        self.assertEqual(deep.get("b/two.txt"), 2)
        with self.assertRaises(SandboxFileSystemError) as cm:
            fs.delete_file("/data/d/a/b")
        self.assertEqual(cm.exception.kind, "invalid")
        with self.assertRaises(SandboxFileSystemError) as cm:
            fs.delete_directory("/data/d/a/one.txt")
        self.assertEqual(cm.exception.kind, "invalid")
        with self.assertRaises(SandboxFileSystemError):
            fs.remove("/data/d/a")  # not empty, not recursive
        fs.delete_file("/data/d/a/one.txt")
        self.assertFalse(fs.exists("/data/d/a/one.txt"))
        fs.delete_directory("/data/d/a")
        self.assertFalse(fs.exists("/data/d/a"))
        fs.write_text("/data/d/x", "x")
        fs.remove("/data/d/x")
        self.assertFalse(fs.exists("/data/d/x"))

    def test_modes_are_octal_numbers(self) -> None:
        with self.assertRaises(SandboxFileSystemError) as cm:
            self.sandbox.fs.write_text("/tmp/m", "x", mode=0o10000)
        self.assertEqual(cm.exception.kind, "invalid")
        self.sandbox.fs.write_text("/tmp/m", "x", mode=0o755)
        self.sandbox.fs.chmod("/tmp/m", 0o600)
        self.assertEqual(self.sandbox.fs.stat_file("/tmp/m").mode, 0o600)

    def test_find_and_replace(self) -> None:
        fs = self.sandbox.fs
        fs.write_text("/data/src/a.py", "import os\n# TODO: one\nx = 1  # TODO two\n")
        fs.write_text("/data/src/sub/b.txt", "nothing here\nTODO three\n")
        fs.write_text("/data/src/sub/c.md", "TODO four\n")
        results = {r.path: r for r in fs.find_in_files("/data/src", r"TODO:? [a-z]+")}
        self.assertEqual(sorted(results), ["/data/src/a.py", "/data/src/sub/b.txt", "/data/src/sub/c.md"])
        a = results["/data/src/a.py"].matches
        self.assertEqual([(m.range.start.line, m.range.start.column) for m in a], [(2, 3), (3, 10)])
        self.assertEqual(a[0].content, "# TODO: one")
        self.assertEqual(a[0].range.end.column, 3 + len("TODO: one"))
        only_txt = fs.find_in_files("/data/src", "TODO", glob="*.txt")
        self.assertEqual([r.path for r in only_txt], ["/data/src/sub/b.txt"])
        self.assertEqual(fs.find_in_files("/data/src", "no-such-text"), [])
        # Literal by default: the dot and the backslash are themselves.
        fs.write_text("/data/rep/v.txt", "version 1.0.0 and 1x0y0\n")
        n = fs.replace_in_files("/data/rep", "1.0.0", "2.0\\0")
        self.assertEqual(n, {"files": 1, "replacements": 1})
        self.assertEqual(fs.read_text("/data/rep/v.txt"), "version 2.0\\0 and 1x0y0\n")
        n = fs.replace_in_files("/data/rep", r"([0-9])x([0-9])", r"\2-\1", regex=True)
        self.assertEqual(n["replacements"], 1)
        self.assertEqual(fs.read_text("/data/rep/v.txt"), "version 2.0\\0 and 0-1y0\n")
        with self.assertRaises(SandboxFileSystemError) as cm:
            fs.find_in_files("/data/src", "(unclosed")
        self.assertEqual(cm.exception.kind, "invalid")


if __name__ == "__main__":
    unittest.main()
