#!/usr/bin/env bash
# The Python SDK (sdk/python) against a real warrend: it installs offline
# into a fresh venv with Debian's own tools (python3 -m venv, the setuptools
# and wheel wheels Debian ships, pip --no-index --no-build-isolation), then
# each unittest module of sdk/python/tests runs with the installed package
# (not the source tree) against a warrend of the case's own, on its unix
# socket (WARREN_HOST) and on TCP with a token, with busybox and the Debian
# image with Docker from the local registry; test_image's warrend has an
# uplink to a test host serving a package index (sdk_network), from which
# its build steps pip install.  Each module runs under pytest
# (Debian's python3-pytest, seen by the venv through its system site
# packages; the unittest classes run as they are) and must run every test
# (nothing skipped), pass, end with pytest's own summary line and leave no
# sandbox behind.  Each pytest test is then one case of this file (t_junit
# on pytest's JUnit report), so the tests are counted in tests/run's final
# `N passed, N failed`.
. "$(dirname "$0")/../lib.sh"

T_CASE_TIMEOUT=900
SDK_SRC=$T_SOURCE_DIR/sdk/python
SDK_DIR=$T_TMP_ROOT/python-sdk.$$
VENV=$SDK_DIR/venv
PYTHON=${WARREN_TEST_PYTHON:-/usr/bin/python3}

# sdk_venv: the venv with the SDK installed (made once per run of this file).
sdk_venv() {
    [ -x "$VENV/bin/python" ] && [ -f "$SDK_DIR/installed" ] && return 0
    [ -x "$PYTHON" ] || t_fail "$PYTHON is not installed (run scripts/setup)"
    local wheel
    wheel=$(ls /usr/share/python-wheels/wheel-*.whl 2>/dev/null | head -n 1)
    [ -n "$wheel" ] || t_fail "Debian's python3-wheel-whl is not installed (run scripts/setup)"
    rm -rf "$SDK_DIR"
    mkdir -p "$SDK_DIR"
    # A copy: pip builds in the source directory, and the checkout stays clean.
    cp -r "$SDK_SRC" "$SDK_DIR/src"
    rm -rf "$SDK_DIR/src/build" "$SDK_DIR/src/"*.egg-info
    "$PYTHON" -c 'import pytest' 2>/dev/null || t_fail "Debian's python3-pytest is not installed (run scripts/setup)"
    # System site packages: pytest is Debian's; warren is the venv's own.
    t_timeout 120 "$PYTHON" -m venv --system-site-packages "$VENV"
    # Nothing is fetched: no index, no build isolation.
    PIP_FIND_LINKS= t_timeout 120 "$VENV/bin/pip" install -q --no-index "$wheel"
    PIP_FIND_LINKS= t_timeout 120 "$VENV/bin/pip" install -q --no-index --no-build-isolation "$SDK_DIR/src"
    touch "$SDK_DIR/installed"
}

# sdk_network: egress for the sandboxes of test_image (their build steps
# install from a package index): an uplink namespace of the case's own
# routing to a test host, 10.79.1.2 in a namespace of its own, that serves
# a simple package index with one wheel, warren-probe 1.0.  Sets
# SDK_WARREND_NET (warrend's flags) and SDK_INDEX (the index's URL).
sdk_network() {
    local up=wt-sdkup-$$ ns=wt-index-$$ dir=$T_CASE_DIR/index
    t_netns "$up" > /dev/null
    t_netns "$ns" > /dev/null
    ip link add "u-index-$$" type veth peer name "h-index-$$"
    ip link set "u-index-$$" netns "$up"
    ip link set "h-index-$$" netns "$ns"
    ip -n "$up" addr add 10.79.1.1/24 dev "u-index-$$"
    ip -n "$up" link set "u-index-$$" up
    ip -n "$ns" addr add 10.79.1.2/24 dev "h-index-$$"
    ip -n "$ns" link set "h-index-$$" up
    ip -n "$ns" route add default via 10.79.1.1
    mkdir -p "$dir/simple/warren-probe" "$dir/files"
    "$PYTHON" - "$dir/files/warren_probe-1.0-py3-none-any.whl" <<'PY'
import base64, hashlib, sys, zipfile
files = {
    "warren_probe/__init__.py": "VALUE = 'installed from the test index'\n",
    "warren_probe-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: warren-probe\nVersion: 1.0\n",
    "warren_probe-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: warren-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for name, text in files.items():
        data = text.encode()
        z.writestr(name, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("warren_probe-1.0.dist-info/RECORD,,")
    z.writestr("warren_probe-1.0.dist-info/RECORD", "\n".join(record) + "\n")
PY
    printf '<html><body><a href="../../files/warren_probe-1.0-py3-none-any.whl">warren_probe-1.0-py3-none-any.whl</a></body></html>\n' \
        > "$dir/simple/warren-probe/index.html"
    ip netns exec "$ns" busybox httpd -f -p 10.79.1.2:80 -h "$dir" &
    t_defer kill $!
    t_defer sdk_drop_table "$up" "wts_$$"
    SDK_WARREND_NET="--uplink /var/run/netns/$up --sandbox-subnet 10.80.0.0/24 --nft-table wts_$$"
    SDK_INDEX=http://10.79.1.2/simple/
}

sdk_drop_table() { ip netns exec "$1" nft delete table inet "$2" 2>/dev/null || true; }

# sdk_warrend: a warrend of the case's own, also on TCP with a token (with
# SDK_WARREND_NET's egress when set).
sdk_warrend() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    t_images busybox
    t_images debian-docker
    t_warrend_root
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$WD_ROOT/token"
    # shellcheck disable=SC2086 # flags, split on purpose
    t_warrend --listen 127.0.0.1:0 --token-file "$WD_ROOT/token" ${SDK_WARREND_NET:-}
    SDK_TCP_PORT=$(sed -n 's/.*warrend is serving.* tcp=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WD_ROOT/warrend.log" | tail -n 1)
    [ -n "$SDK_TCP_PORT" ] || { tail -n 20 "$WD_ROOT/warrend.log"; t_fail "no TCP port in warrend's log"; }
}

# run_module NAME: runs sdk/python/tests/NAME.py under pytest with the
# installed SDK, its JUnit report in $SDK_DIR/junit/NAME.xml; fails unless
# every test ran and passed and no sandbox is left running.
run_module() {
    local module=$1 out status summary
    sdk_venv
    sdk_warrend
    cd "$SDK_SRC/tests"
    mkdir -p "$SDK_DIR/junit"
    T_STATUS=0
    out=$(WARREN_HOST="unix://$WD_SOCK" WARREN_TEST_TCP="http://127.0.0.1:$SDK_TCP_PORT" \
        WARREN_TEST_TOKEN="$(cat "$WD_ROOT/token")" \
        WARREN_TEST_BUSYBOX="$WARREN_BUSYBOX_IMAGE" WARREN_TEST_DEBIAN="$WARREN_DEBIAN_IMAGE" \
        WARREN_TEST_PYTHON_IMAGE="${WARREN_PYTHON_IMAGE:-}" WARREN_TEST_INDEX="${SDK_INDEX:-}" \
        WARREN_ROOT= WARREN_TOKEN= WARREN_TOKEN_FILE= PYTHONPATH= PYTHONDONTWRITEBYTECODE=1 \
        timeout -k 5 800 "$VENV/bin/python" -m pytest -p no:cacheprovider -v -rA \
        --junitxml="$SDK_DIR/junit/$module.xml" "$module.py" 2>&1) || T_STATUS=$?
    printf '%s\n' "$out"
    assert_status 0 "$T_STATUS" "pytest $module.py"
    # pytest's own summary: "==== N passed in 12.3s ====", nothing else.
    summary=$(printf '%s\n' "$out" | grep -E '^=+ .* in [0-9.]+s' | tail -n 1)
    assert_match "$summary" '^=+ [0-9]+ passed in [0-9.]+s' "the end of $module's pytest run"
    assert_not_contains "$summary" "skipped" "$module's run"
    assert_contains "$(printf '%s\n' "$out" | head -n 5)" "$SDK_DIR" "the pytest run's Python (the venv)"
    echo "$module: $summary"
    # Every sandbox the tests made was terminated (or expired).
    local running
    running=$(curl -s --unix-socket "$WD_SOCK" 'http://warrend/v1/sandboxes?state=running' | jq -r '.sandboxes[].id')
    assert_eq "$running" "" "sandboxes still running after $module"
}

# module_case NAME MODULE: the case that runs MODULE under pytest, then one
# case per test from its report.
module_case() {
    local name=$1 module=$2
    if [ -n "${T_ONLY:-}" ] && [[ $name != *"$T_ONLY"* ]]; then
        return 0
    fi
    rm -f "$SDK_DIR/junit/$module.xml"
    t_case "$name" "case_$module"
    t_junit "$SDK_DIR/junit/$module.xml" "pytest"
}

case_install_offline() {
    sdk_venv
    local out
    out=$(cd / && "$VENV/bin/python" -c 'import warren, sys; print(warren.__file__); print(warren.__version__)')
    assert_contains "$out" "$VENV/lib/"
    assert_contains "$out" "0.1.0"
    out=$("$VENV/bin/pip" list 2>/dev/null)
    assert_match "$out" '^warren +0\.1\.0'
    # Standard library only: the package needs nothing but itself.
    out=$("$VENV/bin/pip" show warren 2>/dev/null)
    assert_match "$out" '^Requires: *$'
    # Every public name has a docstring.
    out=$(cd / && "$VENV/bin/python" - <<'PY'
import inspect, warren
missing = []
for name in warren.__all__:
    obj = getattr(warren, name)
    if not inspect.getdoc(obj):
        missing.append(name)
    if inspect.isclass(obj):
        for attr, member in vars(obj).items():
            if attr.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
                continue
            if not inspect.getdoc(member):
                missing.append(f"{name}.{attr}")
print("missing:", " ".join(missing))
PY
)
    assert_eq "$out" "missing: " "public names without a docstring"
    # ... and type hints on every parameter and return.
    out=$(cd / && "$VENV/bin/python" - <<'PY'
import inspect, warren, warren.aio, warren.client
missing = []
def check(qual, f):
    sig = inspect.signature(f)
    for p in sig.parameters.values():
        if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty:
            missing.append(f"{qual}({p.name})")
    if sig.return_annotation is inspect.Signature.empty and f.__name__ != "__init__":
        missing.append(f"{qual}->")
for mod in (warren, warren.aio, warren.client):
    for name in mod.__all__:
        obj = getattr(mod, name)
        if inspect.isfunction(obj):
            check(name, obj)
        elif inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") and attr != "__init__":
                    continue
                if isinstance(member, property):
                    member = member.fget
                elif isinstance(member, (classmethod, staticmethod)):
                    member = member.__func__
                member = getattr(member, "func", member)
                if inspect.isfunction(member):
                    check(f"{name}.{attr}", member)
print("missing:", " ".join(missing))
PY
)
    assert_eq "$out" "missing: " "public names without type hints"
}

case_test_client() { run_module test_client; }
case_test_image() {
    t_images python
    sdk_network
    run_module test_image
}
case_test_sandbox() { run_module test_sandbox; }
case_test_process() { run_module test_process; }
case_test_fs() { run_module test_fs; }
case_test_docker() { run_module test_docker; }
case_test_aio() { run_module test_aio; }

t_case "the SDK installs offline into a venv, standard library only, every public name documented and typed" case_install_offline
module_case "client: addresses, the unix socket, TCP with and without the token (pytest)" test_client
module_case "images: the create body, build steps warrend runs (pip from a test index), warrend's refusals, local paths uploaded (pytest)" test_image
module_case "sandboxes: create, connect, list, lifetime, ports, network permissions, terminate (pytest)" test_sandbox
module_case "processes: exit codes, independent readers while running, logs, stdin, kill, run_code (pytest)" test_process
module_case "files: contents, upload and download, stat, list, directories, find and replace (pytest)" test_fs
module_case "docker: the issue's program with the readiness lines, and every docker call (pytest)" test_docker
module_case "asyncio: the same calls awaited (pytest)" test_aio
rc=0
t_done || rc=$?
rm -rf "$SDK_DIR"
exit "$rc"
