"""Build an image from a Dockerfile inside a sandbox, and run it there.

The build context is a local directory: the SDK uploads it into the sandbox,
and the sandbox's own dockerd builds it (busybox comes through warrend's
registry mirror).
"""

import os
import tempfile

from warren import Image, Sandbox

with tempfile.TemporaryDirectory() as context:
    with open(os.path.join(context, "Dockerfile"), "w") as f:
        f.write('FROM busybox\nCOPY greeting.txt /greeting.txt\nCMD ["cat", "/greeting.txt"]\n')
    with open(os.path.join(context, "greeting.txt"), "w") as f:
        f.write("hello from an image built inside a sandbox\n")

    image = Image.from_registry("ubuntu:22.04").with_docker()
    with Sandbox(image=image, docker_enabled=True).create() as sandbox:
        build = sandbox.docker.build("greeting:1", context=context)
        if not build.wait():
            raise SystemExit("docker build failed:\n" + build.stderr)
        print("built greeting:1")
        run = sandbox.docker.run("greeting:1", remove=True)
        print(run.stdout, end="")
