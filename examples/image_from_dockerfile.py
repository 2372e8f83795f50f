"""A sandbox whose image warrend builds from a local Dockerfile: its COPY
takes files from the build context (this script's temporary directory),
sent to warrend as a tar; .dockerignore keeps secrets out of it."""

import os
import tempfile

from warren import Image, Sandbox

with tempfile.TemporaryDirectory() as context:
    os.makedirs(os.path.join(context, "app"))
    with open(os.path.join(context, "app", "main.sh"), "w") as f:
        f.write('#!/bin/sh\necho "hello from $(cat /app/VERSION), built by warrend"\n')
    os.chmod(os.path.join(context, "app", "main.sh"), 0o755)
    with open(os.path.join(context, "app", "VERSION"), "w") as f:
        f.write("app 1.0")
    with open(os.path.join(context, "app", "secret.env"), "w") as f:
        f.write("TOKEN=do-not-ship\n")
    with open(os.path.join(context, ".dockerignore"), "w") as f:
        f.write("**/*.env\n")
    with open(os.path.join(context, "Dockerfile"), "w") as f:
        f.write("FROM ubuntu:22.04\nWORKDIR /app\nCOPY app/ .\nRUN chmod 0755 main.sh\nENV GREETING=hi\n")

    image = Image.from_dockerfile(os.path.join(context, "Dockerfile"))
    with Sandbox(image=image).create() as sandbox:
        process = sandbox.process.exec("./main.sh")
        process.wait()
        print(process.stdout.read(), end="")
        print("in /app:", sorted(f.name for f in sandbox.fs.list_files("/app")))
