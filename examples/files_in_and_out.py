"""Files in and out of a sandbox: upload data, process it there, download
the result."""

import os
import tempfile

from warren import Image, Sandbox

with tempfile.TemporaryDirectory() as here:
    data = os.path.join(here, "words.txt")
    with open(data, "w") as f:
        f.write("pear\napple\nfig\napple\n")

    with Sandbox(image=Image.from_registry("ubuntu:22.04")).create() as sandbox:
        sandbox.fs.upload_file(data, "/work/words.txt")
        sandbox.fs.write_text("/work/count.sh", "sort /work/words.txt | uniq -c > /work/counts.txt\n", mode=0o755)
        process = sandbox.process.exec("/work/count.sh")
        if process.wait() != 0:
            raise SystemExit(process.stderr.read())
        print("in the sandbox:", sorted(f.name for f in sandbox.fs.list_files("/work")))
        sandbox.fs.download_file("/work/counts.txt", os.path.join(here, "counts.txt"))
        with open(os.path.join(here, "counts.txt")) as f:
            print(f.read(), end="")
