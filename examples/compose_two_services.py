"""Docker Compose inside a sandbox: a web server and a client that asks it.

Both services share the sandbox's network (nested Docker has no bridge
network inside gVisor's network stack), so the client reaches nginx on
127.0.0.1.
"""

import re
import time

from warren import Image, Sandbox

COMPOSE = """
services:
  web:
    image: nginx:latest
    network_mode: host
  client:
    image: busybox:latest
    network_mode: host
    depends_on: [web]
    command: sh -c 'for i in $$(seq 50); do wget -qO- http://127.0.0.1/ && exit 0; sleep 0.2; done; exit 1'
"""

image = Image.from_registry("ubuntu:22.04").with_docker()
with Sandbox(image=image, docker_enabled=True).create() as sandbox:
    sandbox.fs.write_text("/srv/app/docker-compose.yml", COMPOSE)
    up = sandbox.docker.compose_up(cwd="/srv/app")
    if not up.wait():
        raise SystemExit("compose up failed:\n" + up.stderr)
    print(sandbox.docker.compose_ps(cwd="/srv/app"))
    # The client fetches nginx's page and exits; its output is in the logs.
    for _ in range(100):
        logs = sandbox.docker.compose_logs(cwd="/srv/app")
        logs.wait()
        if "Welcome to nginx" in logs.stdout:
            break
        time.sleep(0.2)
    for line in logs.stdout.splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)  # Compose colours service names
        if line.startswith("client") and "<h1>" in line:
            print(line)
    sandbox.docker.compose_down(cwd="/srv/app").wait()
