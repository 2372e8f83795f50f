"""Images: the values they are, the create body they make, and what warrend
says of them."""

import os
import tempfile
import unittest

from support import Quiet, busybox, env

from warren import Image, ImageBuildError, Sandbox


class Values(unittest.TestCase):
    def test_plain_reference(self) -> None:
        self.assertEqual(Image.from_registry("ubuntu:22.04").to_spec(), "ubuntu:22.04")

    def test_with_docker_is_a_step(self) -> None:
        img = Image.from_registry("ubuntu:22.04").with_docker()
        self.assertTrue(img.docker)
        self.assertEqual(img.to_spec(), {"ref": "ubuntu:22.04", "steps": [{"with_docker": True}]})
        # After every other step, whenever it was called.
        img = Image.from_registry("a").with_docker().add_commands("true")
        self.assertEqual(img.steps, [{"run": ["true"]}, {"with_docker": True}])

    def test_steps_in_order_and_immutable(self) -> None:
        base = Image.from_registry("debian:12")
        img = base.add_commands(["apt-get update", "true"]).with_envs({"A": "1"}).run_commands("echo x")
        img = img.add_python_packages(["requests==2.31.0", "numpy"]).with_docker()
        self.assertEqual(base.to_spec(), "debian:12")
        self.assertEqual(
            img.to_spec(),
            {
                "ref": "debian:12",
                "steps": [
                    {"run": ["apt-get update", "true"]},
                    {"env": {"A": "1"}},
                    {"run": ["echo x"]},
                    {"run": ["python3 -m pip install --no-cache-dir requests==2.31.0 numpy"]},
                    {"with_docker": True},
                ],
            },
        )

    def test_envs_forms(self) -> None:
        self.assertEqual(Image.from_registry("a").with_envs(["K=V", "L=a=b"]).steps, [{"env": {"K": "V", "L": "a=b"}}])
        self.assertEqual(Image.from_registry("a").with_envs("K=V").steps, [{"env": {"K": "V"}}])
        with self.assertRaises(ImageBuildError):
            Image.from_registry("a").with_envs("NOEQUALS")
        with self.assertRaises(ImageBuildError):
            Image.from_registry("a").with_envs({"1BAD": "x"})

    def test_default_image(self) -> None:
        self.assertEqual(Image().to_spec(), "docker.io/library/python:3.11-slim")

    def test_credentials_are_refused(self) -> None:
        with self.assertRaises(ImageBuildError) as cm:
            Image.from_registry("private/x", credentials={"USERNAME": "u", "PASSWORD": "p"})
        self.assertEqual(cm.exception.kind, "invalid")
        self.assertIn("--auth-config", cm.exception.message)

    def test_dockerfile(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "Dockerfile")
            with open(path, "w") as f:
                f.write("# a comment\nARG V=12\nFROM debian:${V}\nRUN echo hi\n")
            img = Image.from_dockerfile(path)
            with open(path) as f:
                self.assertEqual(img.to_spec(), {"ref": "debian:12", "dockerfile": f.read()})
            with self.assertRaises(ImageBuildError) as cm:
                img.add_commands(["true"])
            self.assertIn("Dockerfile", cm.exception.message)
            # No COPY: no context to send.
            self.assertIsNone(Image.from_dockerfile(path, context_dir=d).context_dir)
            with open(path, "w") as f:
                f.write("FROM debian:12\nCOPY app /app\n")
            self.assertEqual(Image.from_dockerfile(path).context_dir, d)
            with self.assertRaises(ImageBuildError) as cm:
                Image.from_dockerfile(path, context_dir=os.path.join(d, "missing"))
            self.assertEqual(cm.exception.kind, "not_found")
            self.assertEqual(
                Image.from_dockerfile(path).to_spec("sha256:" + "0" * 64)["context"], "sha256:" + "0" * 64
            )
        with self.assertRaises(ImageBuildError) as cm:
            Image.from_dockerfile("/nonexistent/Dockerfile")
        self.assertEqual(cm.exception.kind, "not_found")

    def test_requirements_file(self) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write("# deps\nrequests\n\nflask >= 2\n")
            f.flush()
            img = Image.from_registry("python:3.11").add_python_packages(f.name)
        self.assertEqual(img.steps, [{"run": ["python3 -m pip install --no-cache-dir requests 'flask>=2'"]}])

    def test_build(self) -> None:
        self.assertEqual(tuple(Image.from_registry("busybox").build()), (True, "busybox"))
        with self.assertRaises(ImageBuildError):
            Image.from_registry("busybox").add_commands("true").build()


class AgainstWarrend(unittest.TestCase):
    def test_bad_reference(self) -> None:
        registry = env("WARREN_TEST_BUSYBOX").split("/")[0]
        with self.assertRaises(ImageBuildError) as cm:
            Sandbox(image=Image.from_registry(f"{registry}/library/no-such-image:latest")).create(output=Quiet())
        self.assertEqual(cm.exception.kind, "not_found")
        self.assertEqual(cm.exception.status, 404)
        self.assertIn("no-such-image", cm.exception.message)

    def test_malformed_reference(self) -> None:
        with self.assertRaises(ImageBuildError) as cm:
            Sandbox(image=Image.from_registry("UPPER/Case::bad")).create(output=Quiet())
        self.assertEqual(cm.exception.kind, "invalid")
        self.assertEqual(cm.exception.status, 400)

    def test_build_steps_are_built(self) -> None:
        img = busybox().add_commands(["echo hi > /hi"]).with_envs({"BUILT_ENV": "yes"})
        with Sandbox(image=img).create(output=Quiet()) as sb:
            self.assertEqual(sb.fs.read_text("/hi"), "hi\n")
            p = sb.process.exec("sh", "-c", "echo $BUILT_ENV")
            self.assertEqual(p.wait(), 0)
            self.assertEqual(p.stdout.read(), "yes\n")

    def test_python_packages_from_an_index(self) -> None:
        # Image() on its default base (python:3.11-slim, through warrend's
        # docker.io mirror), with packages pip installs in a build step
        # that reaches the test's package index over the sandbox's egress.
        env("WARREN_TEST_PYTHON_IMAGE")
        index = env("WARREN_TEST_INDEX")
        host = index.split("/")[2]
        # The index first: steps run in the order they were added.
        img = (
            Image()
            .with_envs({"PIP_INDEX_URL": index, "PIP_TRUSTED_HOST": host})
            .add_python_packages(["warren-probe==1.0"])
        )
        with Sandbox(image=img).create(output=Quiet()) as sb:
            p = sb.process.exec("python3", "-c", "import warren_probe; print(warren_probe.VALUE)")
            self.assertEqual(p.wait(), 0, p.stderr.read())
            self.assertEqual(p.stdout.read(), "installed from the test index\n")
        # A package the index does not have fails the build with pip's words.
        with self.assertRaises(ImageBuildError) as cm:
            Sandbox(
                image=Image()
                .with_envs({"PIP_INDEX_URL": index, "PIP_TRUSTED_HOST": host})
                .add_python_packages(["warren-no-such-package"])
            ).create(output=Quiet())
        self.assertIn("warren-no-such-package", cm.exception.message)

    def test_failing_step_surfaces_the_server_message(self) -> None:
        with self.assertRaises(ImageBuildError) as cm:
            Sandbox(image=busybox().add_commands(["echo step-output; exit 7"])).create(output=Quiet())
        self.assertEqual(cm.exception.kind, "invalid")
        self.assertIn("status 7", cm.exception.message)
        self.assertIn("step-output", cm.exception.message)

    def test_dockerfile_is_built(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "Dockerfile")
            with open(path, "w") as f:
                f.write(
                    f"FROM {env('WARREN_TEST_BUSYBOX')}\n"
                    "ARG GREETING=hello\n"
                    "# a comment, and a continued RUN\n"
                    "RUN mkdir -p /opt/out && \\\n"
                    "    echo \"$GREETING from RUN\" > /opt/out/built.txt\n"
                    "ENV FROM_DOCKERFILE=\"${GREETING} env\" SECOND=2\n"
                    "WORKDIR /srv/work\n"
                )
            img = Image.from_dockerfile(path)
            self.assertEqual(img.ref, env("WARREN_TEST_BUSYBOX"))
            with Sandbox(image=img).create(output=Quiet()) as sb:
                self.assertEqual(sb.fs.read_text("/opt/out/built.txt"), "hello from RUN\n")
                p = sb.process.exec("sh", "-c", 'echo "$FROM_DOCKERFILE/$SECOND"; pwd')
                self.assertEqual(p.wait(), 0)
                self.assertEqual(p.stdout.read(), "hello env/2\n/srv/work\n")

    def test_dockerfile_copy_from_context(self) -> None:
        with tempfile.TemporaryDirectory() as d, tempfile.TemporaryDirectory() as ctx:
            os.makedirs(os.path.join(ctx, "app", "lib"))
            with open(os.path.join(ctx, "app", "lib", "util.sh"), "w") as f:
                f.write("echo util\n")
            with open(os.path.join(ctx, "run.sh"), "w") as f:
                f.write("#!/bin/sh\necho run\n")
            os.chmod(os.path.join(ctx, "run.sh"), 0o750)
            with open(os.path.join(ctx, "secret.env"), "w") as f:
                f.write("TOKEN=1\n")
            with open(os.path.join(ctx, ".dockerignore"), "w") as f:
                f.write("# not sent\n*.env\n")
            path = os.path.join(d, "Dockerfile")
            with open(path, "w") as f:
                f.write(
                    f"FROM {env('WARREN_TEST_BUSYBOX')}\n"
                    "WORKDIR /srv\n"
                    "COPY app ./app\n"
                    "COPY run.sh /usr/local/bin/\n"
                    "COPY . /ctx\n"
                    "RUN sh /srv/app/lib/util.sh > /srv/built.txt\n"
                )
            img = Image.from_dockerfile(path, context_dir=ctx)
            with Sandbox(image=img).create(output=Quiet()) as sb:
                self.assertEqual(sb.fs.read_text("/srv/built.txt"), "util\n")
                self.assertEqual(sb.fs.stat_file("/usr/local/bin/run.sh").mode, 0o750)
                p = sb.process.exec("run.sh")
                self.assertEqual(p.wait(), 0)
                self.assertEqual(p.stdout.read(), "run\n")
                # .dockerignore kept the secret out of the context.
                self.assertEqual(sorted(f.name for f in sb.fs.list_files("/ctx")), [".dockerignore", "app", "run.sh"])

    def test_bad_dockerfile_names_the_line(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "Dockerfile")
            with open(path, "w") as f:
                f.write(f"FROM {env('WARREN_TEST_BUSYBOX')}\nRUN true\nVOLUME /data\n")
            with self.assertRaises(ImageBuildError) as cm:
                Sandbox(image=Image.from_dockerfile(path)).create(output=Quiet())
            self.assertEqual(cm.exception.kind, "invalid")
            self.assertEqual(cm.exception.status, 400)
            self.assertIn("image.dockerfile: line 3: VOLUME is not supported", cm.exception.message)

    def test_local_path_is_uploaded(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "sub"))
            with open(os.path.join(d, "sub", "f.txt"), "w") as f:
                f.write("local contents\n")
            with open(os.path.join(d, "top.sh"), "w") as f:
                f.write("#!/bin/sh\necho top\n")
            os.chmod(os.path.join(d, "top.sh"), 0o755)
            img = busybox().add_local_path(d, "/srv/app")
            with Sandbox(image=img).create(output=Quiet()) as sb:
                self.assertEqual(sb.fs.read_text("/srv/app/sub/f.txt"), "local contents\n")
                self.assertEqual(sb.fs.stat_file("/srv/app/top.sh").mode, 0o755)
                p = sb.process.exec("/srv/app/top.sh")
                self.assertEqual(p.wait(), 0)
                self.assertEqual(p.stdout.read(), "top\n")


if __name__ == "__main__":
    unittest.main()
