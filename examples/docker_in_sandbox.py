from warren import Image, Sandbox

sandbox = Sandbox(
    cpu=1,
    image=Image.from_registry("ubuntu:22.04").with_docker(),
    docker_enabled=True,
).create()

process = sandbox.docker.pull("nginx:latest")
process.wait()
print(process.stdout.read())
