"""Docker's Python SDK (Debian's python3-docker) against a berth dockerd.

Usage: python3 python_scenario.py unix:///path/to/docker.sock

Prints one line per step ("ok <step>", "skip <step>: why"); the first
failure prints its traceback and exits 1. Every container it makes carries
the label berth.sdk=python and is removed at the end.
"""

import io
import socket
import sys
import tarfile
import time
import traceback

import docker
from docker.utils.socket import frames_iter

HOST = sys.argv[1]
LABELS = {"berth.sdk": "python"}
RUN = {"network_mode": "none", "labels": LABELS}

client = docker.DockerClient(base_url=HOST, version="1.41", timeout=30)
# A second client on another API version: /v1.43/ prefixes must work too.
api43 = docker.APIClient(base_url=HOST, version="1.43", timeout=30)


def step(name):
    def run(fn):
        t0 = time.monotonic()
        try:
            fn()
        except Skip as s:
            print(f"skip {name}: {s}", flush=True)
            return fn
        except Exception:
            print(f"FAIL {name}", flush=True)
            traceback.print_exc()
            cleanup()
            sys.exit(1)
        print(f"ok {name} ({round((time.monotonic() - t0) * 1000)} ms)", flush=True)
        return fn

    return run


class Skip(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def cleanup():
    try:
        for c in client.containers.list(all=True, filters={"label": "berth.sdk=python"}):
            c.remove(force=True)
    except Exception:
        traceback.print_exc()


def wait_for(fn, what, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def tar_of(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@step("system: ping, version, info")
def _():
    expect(client.ping() is True, "ping is True")
    v = client.version()
    expect(v["ApiVersion"] and v["Os"] == "linux", f"version: {v}")
    info = client.info()
    expect("Containers" in info and "ServerVersion" in info, f"info keys: {list(info)}")
    expect(api43.version()["ApiVersion"], "version through /v1.43/")
    # version="auto" negotiates through /version.
    auto = docker.DockerClient(base_url=HOST, version="auto")
    expect(auto.api.api_version == v["ApiVersion"], f"negotiated {auto.api.api_version}")
    auto.close()


@step("images: list, get")
def _():
    tags = [t for i in client.images.list() for t in i.tags]
    expect("busybox:latest" in tags, f"busybox in {tags}")
    img = client.images.get("busybox")
    expect(img.id.startswith("sha256:"), f"image id {img.id}")
    expect(client.images.list(name="busybox"), "images.list(name=busybox)")


@step("containers.run in the foreground returns the output")
def _():
    out = client.containers.run("busybox", ["sh", "-c", "echo hello; echo to-stderr >&2"], remove=True, **RUN)
    expect(out == b"hello\n", f"output {out!r}")
    out = client.containers.run("busybox", ["sh", "-c", "echo both >&2"], stdout=False, stderr=True, **RUN)
    expect(out == b"both\n", f"stderr output {out!r}")


@step("containers.run: a failing command raises ContainerError")
def _():
    try:
        client.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 3"], remove=True, **RUN)
    except docker.errors.ContainerError as e:
        expect(e.exit_status == 3, f"exit status {e.exit_status}")
        expect(b"bad" in e.stderr, f"stderr {e.stderr!r}")
        return
    raise AssertionError("no ContainerError")


box = None


@step("containers.run detached, logs")
def _():
    global box
    box = client.containers.run(
        "busybox",
        ["sh", "-c", "trap 'exit 0' TERM; echo started; while :; do sleep 0.1; done"],
        detach=True,
        name="py-box",
        stdin_open=True,
        **RUN,
    )
    box.reload()
    expect(box.status == "running", f"status {box.status}")
    wait_for(lambda: b"started" in box.logs(), "logs")
    expect(box.logs(timestamps=True).split(b" ", 1)[1] == b"started\n", "timestamps")
    expect(b"started" in api43.logs(box.id, stdout=True), "logs through /v1.43/")


@step("exec_run: exit code, output, demux")
def _():
    r = box.exec_run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    expect(r.exit_code == 3, f"exit code {r.exit_code}")
    expect(b"out\n" in r.output and b"err\n" in r.output, f"output {r.output!r}")
    r = box.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
    expect(r.exit_code == 0 and r.output == (b"out\n", b"err\n"), f"demux {r}")
    r = box.exec_run("id -u", user="1000", workdir="/tmp", environment={"X": "1"})
    expect(r.output == b"1000\n", f"user {r.output!r}")
    r = box.exec_run(["sh", "-c", "pwd; echo $X"], workdir="/tmp", environment={"X": "y"})
    expect(r.output == b"/tmp\ny\n", f"workdir/env {r.output!r}")
    r = box.exec_run("tty", tty=True)
    expect(r.output.startswith(b"/dev/pts/"), f"tty {r.output!r}")
    chunks = list(box.exec_run(["sh", "-c", "echo a; sleep 0.1; echo b"], stream=True).output)
    expect(b"".join(chunks) == b"a\nb\n", f"stream {chunks!r}")


@step("exec_run with stdin through the socket")
def _():
    r = box.exec_run("cat", stdin=True, socket=True)
    sock = r.output
    raw = sock._sock if hasattr(sock, "_sock") else sock
    raw.sendall(b"through stdin\n")
    raw.shutdown(socket.SHUT_WR)
    frames = list(frames_iter(sock, tty=False))
    sock.close()
    expect(frames == [(1, b"through stdin\n")], f"frames {frames!r}")


@step("exec: low-level create/start/inspect")
def _():
    e = api43.exec_create(box.id, ["sh", "-c", "exit 7"])
    expect(api43.exec_start(e["Id"]) == b"", "no output")
    info = api43.exec_inspect(e["Id"])
    expect(info["ExitCode"] == 7 and info["Running"] is False, f"exec inspect {info}")
    e = api43.exec_create(box.id, ["sh", "-c", "sleep 0.2"])
    api43.exec_start(e["Id"], detach=True)
    wait_for(lambda: api43.exec_inspect(e["Id"])["ExitCode"] == 0, "detached exec to end")


@step("top")
def _():
    t = box.top()
    expect("PID" in t["Titles"], f"titles {t['Titles']}")
    expect(any("sleep" in " ".join(p) or "sh" in " ".join(p) for p in t["Processes"]), f"{t}")
    t = box.top(ps_args="-o pid,comm")
    expect(t["Titles"] == ["PID", "COMMAND"], f"ps_args titles {t['Titles']}")


@step("stats(stream=False)")
def _():
    try:
        s = box.stats(stream=False)
    except docker.errors.APIError as e:
        if e.status_code == 404:
            raise Skip("no stats route yet")
        raise
    expect("memory_stats" in s and "cpu_stats" in s, f"stats keys {list(s)}")


@step("stop, start, restart, wait")
def _():
    box.stop(timeout=5)
    box.reload()
    expect(box.status == "exited", f"after stop {box.status}")
    expect(box.wait()["StatusCode"] == 0, "wait on a stopped container")
    box.start()
    box.reload()
    expect(box.status == "running", f"after start {box.status}")
    started = box.attrs["State"]["StartedAt"]
    box.restart(timeout=5)
    box.reload()
    expect(box.status == "running" and box.attrs["State"]["StartedAt"] != started, "restarted")
    c = client.containers.run("busybox", ["sh", "-c", "sleep 0.2; exit 5"], detach=True, **RUN)
    expect(c.wait(timeout=10)["StatusCode"] == 5, "wait for exit 5")
    c.remove()


@step("attach: streamed output, logs replay, stopped container, stdin through attach_socket")
def _():
    c = client.containers.run(
        "busybox", ["sh", "-c", "sleep 0.3; echo one; echo two >&2"], detach=True, **RUN
    )
    out = b"".join(c.attach(stdout=True, stderr=True, stream=True))
    expect(out == b"one\ntwo\n", f"attach stream {out!r}")
    # logs=True replays what was written before the attach.
    out = c.attach(stdout=True, stderr=False, logs=True)
    expect(out == b"one\n", f"attach logs {out!r}")
    # A stream from a stopped container waits for its next start.
    c.wait()
    sock = c.attach_socket(params={"stdout": 1, "stream": 1})
    c.start()
    frames = list(frames_iter(sock, tty=False))
    sock.close()
    expect(frames == [(1, b"one\n")], f"attach before a restart {frames!r}")
    c.wait()
    c.remove()
    c = client.containers.create("busybox", "cat", stdin_open=True, **RUN)
    sock = c.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
    c.start()
    raw = sock._sock if hasattr(sock, "_sock") else sock
    raw.sendall(b"echo me\n")
    frames = frames_iter(sock, tty=False)
    stream, data = next(frames)
    expect((stream, data) == (1, b"echo me\n"), f"attach stdin frame {(stream, data)!r}")
    sock.close()
    c.remove(force=True)


@step("put_archive, get_archive (chunked upload too)")
def _():
    expect(box.put_archive("/tmp", tar_of({"hello.txt": b"from python\n"})), "put_archive")
    r = box.exec_run("cat /tmp/hello.txt")
    expect(r.output == b"from python\n", f"cat {r.output!r}")
    data = tar_of({"chunked.txt": b"chunks\n"})
    # A generator body goes out with Transfer-Encoding: chunked.
    gen = (data[i : i + 1000] for i in range(0, len(data), 1000))
    expect(box.put_archive("/tmp", gen), "chunked put_archive")
    expect(box.exec_run("cat /tmp/chunked.txt").output == b"chunks\n", "chunked content")
    bits, stat = box.get_archive("/tmp/hello.txt")
    expect(stat["name"] == "hello.txt" and stat["size"] == 12, f"stat {stat}")
    with tarfile.open(fileobj=io.BytesIO(b"".join(bits))) as tar:
        expect(tar.extractfile("hello.txt").read() == b"from python\n", "archive content")
    try:
        box.get_archive("/no/such/file")
    except docker.errors.NotFound:
        pass
    else:
        raise AssertionError("get_archive of a missing path")


@step("containers.list with filters")
def _():
    done = client.containers.create("busybox", "true", name="py-created", **RUN)
    names = [c.name for c in client.containers.list(filters={"label": "berth.sdk=python"})]
    expect(names == ["py-box"], f"running {names}")
    names = [c.name for c in client.containers.list(all=True, filters={"name": "py-created"})]
    expect(names == ["py-created"], f"by name {names}")
    names = [c.name for c in client.containers.list(all=True, filters={"status": "created"})]
    expect("py-created" in names and "py-box" not in names, f"status=created {names}")
    ids = [c["Id"] for c in api43.containers(all=True, filters={"id": done.id[:12]})]
    expect(ids == [done.id], f"by id {ids}")
    expect(client.containers.get("py-created").id == done.id, "get by name")
    expect(client.containers.get(done.id[:10]).name == "py-created", "get by prefix")


@step("errors: NotFound, 409 conflicts")
def _():
    try:
        client.containers.get("py-no-such-container")
        raise AssertionError("no NotFound")
    except docker.errors.NotFound as e:
        expect(e.status_code == 404, f"status {e.status_code}")
        expect("No such container" in str(e), str(e))
    try:
        client.containers.create("busybox", "true", name="py-box", **RUN)
        raise AssertionError("no conflict")
    except docker.errors.APIError as e:
        expect(e.status_code == 409, f"status {e.status_code}")
        expect("already in use" in e.explanation, e.explanation)
    try:
        box.remove()
        raise AssertionError("removed a running container")
    except docker.errors.APIError as e:
        expect(e.status_code == 409, f"remove running: {e.status_code}")
    try:
        client.images.get("busybox:no-such-tag")
        raise AssertionError("no ImageNotFound")
    except docker.errors.ImageNotFound:
        pass
    # create alone (run would try to pull it from Docker Hub).
    try:
        client.containers.create("berth-no-such-image:1", "true", **RUN)
        raise AssertionError("created from a missing image")
    except docker.errors.ImageNotFound as e:
        expect("No such image: berth-no-such-image:1" in str(e), str(e))


@step("images: tag, remove")
def _():
    img = client.images.get("busybox")
    expect(img.tag("berth-py/busybox", "v1") is True, "tag")
    expect(client.images.get("berth-py/busybox:v1").id == img.id, "tagged image")
    client.images.remove("berth-py/busybox:v1")
    try:
        client.images.get("berth-py/busybox:v1")
        raise AssertionError("tag still there")
    except docker.errors.ImageNotFound:
        pass
    expect(client.images.get("busybox").id == img.id, "busybox kept")


@step("remove(force=True) of a running container")
def _():
    box.remove(force=True)
    try:
        client.containers.get(box.id)
        raise AssertionError("still there")
    except docker.errors.NotFound:
        pass
    client.containers.get("py-created").remove(v=True)


cleanup()
print("python scenario passed", flush=True)
