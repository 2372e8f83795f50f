"""Run code you do not trust in a sandbox and read what it printed.

The code runs in a gVisor sandbox: its own kernel, its own files, and a
limit on CPU and memory.  Whatever it does, the host is not touched.
"""

from warren import Image, Sandbox

UNTRUSTED = """
import os, platform
print("hello from", platform.node(), "running", platform.system(), platform.release())
print("files in /:", sorted(os.listdir("/"))[:5], "...")
raise SystemExit(3)
"""

with Sandbox(cpu=0.5, memory="256Mi", image=Image.from_registry("ubuntu:22.04")).create() as sandbox:
    result = sandbox.process.run_code(UNTRUSTED)
    print(result.result, end="")
    print("exit code:", result.exit_code)

    # A process that is still running: read its lines as they come.
    process = sandbox.process.exec("sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.2; done")
    for line in process.stdout:
        print("streamed:", line.rstrip())
    print("exit code:", process.wait())
