"""Helpers for fleet tests: a test PKI, nats-server (single node or a 3-node cluster) rendered from
the real configs in deploy/nats/, the collector, and gw-publish standing in for agents.

Everything listens on 127.0.0.1 ports picked free at run time and lives in a pytest tmp_path.
Every process a test starts is stopped by the fixture that started it, by its own pid.
"""
import json
import os
import shutil
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("BUILD", ROOT / "build"))
DEPLOY = ROOT / "deploy"


def collector_binary():
    """The ASan build by default (hostile input must not corrupt memory); GW_COLLECTOR overrides."""
    env = os.environ.get("GW_COLLECTOR")
    if env:
        return Path(env)
    asan = BUILD / "asan" / "ghostwatch-collector"
    return asan if asan.exists() else BUILD / "ghostwatch-collector"


PUBLISH = BUILD / "tools" / "gw-publish"
AGENT = Path(os.environ.get("GW_AGENT", BUILD / "asan" / "ghostwatch"))
HOSTS = ["host-a", "host-b", "host-c", "host-d"]


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def make_pki(dirpath, hosts=HOSTS):
    subprocess.run([str(DEPLOY / "pki" / "make-test-ca.sh"), str(dirpath), *hosts], check=True,
                   capture_output=True, timeout=60)
    return Path(dirpath)


def wait_for(pred, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class NatsServer:
    """One nats-server process from a deploy/nats config with paths and ports rewritten."""

    def __init__(self, workdir, pki, template, port, cluster_port=None, route_ports=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.url = f"tls://127.0.0.1:{port}"
        self.log = self.dir / "nats.log"
        text = Path(template).read_text()
        text = text.replace("/etc/ghostwatch/pki", str(pki))
        text = re.sub(r'store_dir: "[^"]*"', f'store_dir: "{self.dir / "store"}"', text)
        text = re.sub(r"^listen: \S+", f"listen: 127.0.0.1:{port}", text, flags=re.M)
        (self.monitor_port,) = free_ports(1)
        self.monitor_url = f"http://127.0.0.1:{self.monitor_port}"
        text = re.sub(r"^http: \S+", f"http: 127.0.0.1:{self.monitor_port}", text, flags=re.M)
        if cluster_port:
            text = re.sub(r"^  listen: \S+", f"  listen: 127.0.0.1:{cluster_port}", text,
                          flags=re.M)
            routes = "\n".join(f'    "nats-route://127.0.0.1:{p}"' for p in route_ports)
            text = re.sub(r"routes: \[.*?\]", f"routes: [\n{routes}\n  ]", text, flags=re.S)
        self.conf = self.dir / "nats.conf"
        self.conf.write_text(text)
        accounts = subprocess.run([str(DEPLOY / "nats" / "gen-accounts.sh"), *HOSTS],
                                  check=True, capture_output=True, text=True).stdout
        (self.dir / "accounts.conf").write_text(accounts)
        self.proc = None

    def start(self):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(["nats-server", "-c", str(self.conf)], stdout=self.logf,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        wait_for(self._listening, 10, f"nats-server on {self.port}")
        return self

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"nats-server exited: {self.log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc:
            self.logf.close()

    def log_text(self):
        return self.log.read_text(errors="replace")


def single_node(tmp_path, pki):
    (port,) = free_ports(1)
    return NatsServer(tmp_path / "nats", pki, DEPLOY / "nats" / "single.conf", port).start()


def cluster(tmp_path, pki):
    ports = free_ports(6)
    client, routes = ports[:3], ports[3:]
    nodes = [NatsServer(tmp_path / f"nats{i + 1}", pki,
                        DEPLOY / "nats" / "cluster" / f"node{i + 1}.conf", client[i],
                        cluster_port=routes[i], route_ports=routes) for i in range(3)]
    for n in nodes:
        n.start()
    return nodes


class Collector:
    def __init__(self, workdir, pki, servers, *extra, durable="ghostwatch-collector", env=None):
        self.dir = Path(workdir)
        self.env = env or {}  # added to the environment; ASAN_OPTIONS given here are appended
        self.dir.mkdir(parents=True, exist_ok=True)
        self.out = self.dir / "out"
        self.log = self.dir / "collector.log"
        self.conn = ["--server", servers, "--ca", str(pki / "ca.pem"),
                     "--cert", str(pki / "collector.pem"), "--key", str(pki / "collector.key")]
        self.args = [str(collector_binary()), "run", *self.conn, "--out-dir", str(self.out),
                     "--durable", durable, "--log-level", "debug", *extra]
        self.proc = None

    def start(self):
        self.logf = open(self.log, "ab")
        env = dict(os.environ, **self.env)
        env["ASAN_OPTIONS"] = ":".join(filter(None, ["abort_on_error=0:exitcode=66",
                                                     self.env.get("ASAN_OPTIONS")]))
        self.proc = subprocess.Popen(self.args, stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=env)
        wait_for(lambda: self.alive() and "bound to durable" in self.log_text(), 30,
                 "the collector to bind its consumer")
        return self

    def alive(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"collector exited {self.proc.returncode}: "
                                 f"{self.log_text()[-3000:]}")
        return True

    def stop(self):
        """SIGTERM; returns the exit code (66 = a sanitizer report)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc:
            self.logf.close()
            return self.proc.returncode
        return None

    def log_text(self):
        return self.log.read_text(errors="replace")

    def report(self, *extra, may_fail=False):
        return report(self, *extra, may_fail=may_fail)

    def lines(self, containing=None):
        return ndjson_lines(self.out, containing)


def report(col, *extra, may_fail=False):
    """The fleet view as `report --json` reads it from the bucket, with col's connection; None
    when it could not be read and may_fail (a cluster electing leaders)."""
    r = subprocess.run([str(collector_binary()), "report", "--json", *col.conn, *extra],
                       capture_output=True, text=True, timeout=30)
    if may_fail and r.returncode != 0:
        return None
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def report_table(col, *extra):
    r = subprocess.run([str(collector_binary()), "report", *col.conn, *extra],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def host(rep, host_id):
    for h in rep["hosts"]:
        if h["host_id"] == host_id:
            return h
    return None


def ndjson_lines(out_dir, containing=None):
    """Every line of every NDJSON file (rotated and live), parsed; a broken line fails.
    `containing` (bytes) keeps only the lines that contain it, before parsing (big outputs)."""
    lines = []
    for f in sorted(Path(out_dir).glob("*.ndjson")):
        data = f.read_bytes()
        assert not data or data.endswith(b"\n"), f"{f} ends in half a line"
        for raw in data.split(b"\n")[:-1]:
            if containing is None or containing in raw:
                lines.append(json.loads(raw))
    return lines


def publish(pki, servers, *args, cert_host="host-a", cert=None, timeout=120):
    """Runs gw-publish with an agent certificate; returns CompletedProcess."""
    cert = cert or f"agent-{cert_host}"
    cmd = [str(PUBLISH), *args, "--server", servers, "--ca", str(pki / "ca.pem")]
    if cert != "none":
        cmd += ["--cert", str(pki / f"{cert}.pem"), "--key", str(pki / f"{cert}.key")]
    else:
        cmd += ["--cert", "", "--key", ""]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def published_counts(stdout):
    m = re.search(r"published (\d+) acked (\d+) failed (\d+) duplicates (\d+)", stdout)
    assert m, stdout
    return tuple(int(x) for x in m.groups())


SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def make_rogue_server_pki(tmp_path, pki):
    """A copy of the fleet PKI whose server certificate comes from another CA ("rogue")."""
    out = tmp_path / "rogue"
    shutil.copytree(pki, out)
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, cwd=out)  # noqa: E731
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "rogue-ca.key")
    run("openssl", "req", "-x509", "-new", "-key", "rogue-ca.key", "-sha256", "-days", "2",
        "-subj", "/CN=ghostwatch test public CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "rogue-ca.pem")
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key")
    run("openssl", "req", "-new", "-key", "server.key", "-subj", "/CN=rogue nats", "-out",
        "server.csr")
    (out / "server.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                    "extendedKeyUsage=serverAuth\n"
                                    "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "rogue-ca.pem", "-CAkey",
        "rogue-ca.key", "-CAcreateserial", "-sha256", "-days", "2", "-extfile", "server.ext",
        "-out", "server.pem")
    return out


class RunAgent:
    """`ghostwatch run --config FILE` (optionally under a wrapper command such as setpriv, or
    another agent binary); its stderr kept as it arrives."""

    def __init__(self, config, wrapper=(), binary=None, env=None):
        env = {**os.environ, **(env or {})}
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self.lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen([*wrapper, str(binary or AGENT), "run", "--config",
                                      str(config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            with self.cond:
                self.lines.append(raw.decode(errors="replace"))
                self.cond.notify_all()

    @property
    def log(self):
        with self.cond:
            return "".join(self.lines)

    def wait_log(self, needle, timeout=30, start=0):
        """Until a line from the start-th on holds needle; fails if the agent exits first."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(needle in l for l in self.lines[start:]):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"no '{needle}' in agent log: "
                                         f"{''.join(self.lines)[-3000:]}")
                self.cond.wait(0.1)

    def wait(self, timeout=30):
        rc = self.proc.wait(timeout)
        time.sleep(0.2)
        return rc

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        self.reader.join(5)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def fdinfo(pid):
    """What /proc/PID/fdinfo says of each descriptor process pid holds (BPF links, maps, ...)."""
    for f in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            yield dict(l.split(":\t", 1) for l in f.read_text().splitlines() if ":\t" in l)
        except OSError:
            continue


def cgroup_links(pid):
    """link id -> (prog id, cgroup id) of the cgroup links process pid holds."""
    return {int(i["link_id"]): (int(i["prog_id"]), int(i["cgroup_id"]))
            for i in fdinfo(pid) if i.get("link_type") == "cgroup"}
