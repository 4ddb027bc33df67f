"""Test-side helpers for the agent's fleet tests: a minimal NATS (TLS) client speaking the JetStream
JSON API, a nats-server runner with an open configuration (the collector tests' fleet_harness.py
runs the real, permission-restricted deploy/nats configs instead; the PKI and free ports come from
there), and a decoder for ghostwatch batches (zlib + protobuf wire format, parsed by hand so the
tests need nothing beyond the Python standard library).

Only what the tests need: create a stream, read its state, fetch messages by stream sequence.
"""
import base64
import json
import shutil
import signal
import socket
import ssl
import subprocess
import time
import zlib
from pathlib import Path

from fleet_harness import free_ports, make_pki  # noqa: F401  (make_pki: re-exported for users)

ROOT = Path(__file__).resolve().parents[2]
STREAM = "GHOSTWATCH"
SUBJECT_PREFIX = "ghostwatch.v1.telemetry"


# ---- PKI and ports: the same as the collector tests' (fleet_harness.py) ------------------------

def free_port():
    return free_ports(1)[0]


# ---- nats-server --------------------------------------------------------------------------------

class NatsServer:
    """nats-server on 127.0.0.1 with mutual TLS (verify) and JetStream in `work`."""

    def __init__(self, work: Path, pki: Path, port=None, name="gw-test", extra="",
                 verify="verify"):
        self.work = work
        self.pki = pki
        self.port = port or free_port()
        self.name = name
        self.proc = None
        self.conf = work / f"{name}.conf"
        self.log = work / f"{name}.log"
        self.conf.write_text(
            f'server_name: {name}\n'
            f'listen: 127.0.0.1:{self.port}\n'
            f'jetstream {{ store_dir: "{work / ("js-" + name)}" }}\n'
            f'tls {{ cert_file: "{pki / "server.pem"}"\n key_file: "{pki / "server.key"}"\n'
            f' ca_file: "{pki / "ca.pem"}"\n {verify}: true\n timeout: 3 }}\n' + extra)

    @property
    def url(self):
        return f"tls://127.0.0.1:{self.port}"

    def start(self):
        log = open(self.log, "ab")
        self.proc = subprocess.Popen([shutil.which("nats-server") or "nats-server", "-c",
                                      str(self.conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.02)
        raise AssertionError("nats-server did not start: " + self.log.read_text())

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None


def nats_cluster(work: Path, pki: Path, n=3):
    """n JetStream nodes on loopback, routed to each other (routes in plain TCP: loopback only)."""
    ports = [free_port() for _ in range(n)]
    routes = [free_port() for _ in range(n)]
    nodes = []
    for i in range(n):
        others = ", ".join(f"nats-route://127.0.0.1:{routes[j]}" for j in range(n) if j != i)
        extra = (f"cluster {{ name: gwtest\n listen: 127.0.0.1:{routes[i]}\n"
                 f" routes: [{others}] }}\n")
        nodes.append(NatsServer(work, pki, ports[i], name=f"n{i + 1}", extra=extra))
    return nodes


# ---- a minimal NATS client ------------------------------------------------------------------------

class NatsClient:
    def __init__(self, port, ca, cert, key, timeout=5.0, inbox="_INBOX.gwtest"):
        self.inbox = inbox
        raw = socket.create_connection(("127.0.0.1", port), timeout)
        self.buf = b""
        self.sock = raw
        info = self._line()
        assert info.startswith(b"INFO "), info
        ctx = ssl.create_default_context(cafile=str(ca))
        ctx.load_cert_chain(str(cert), str(key))
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.sock.settimeout(timeout)
        self._send(b'CONNECT {"verbose":false,"pedantic":false,"tls_required":true,'
                   b'"headers":true,"no_responders":true,"protocol":1,"name":"gw-test"}\r\nPING\r\n')
        while True:
            line = self._line()
            if line == b"PONG":
                break
            if line.startswith(b"-ERR"):
                raise ConnectionError(line.decode())
        self.sid = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def request(self, subject, payload: bytes, timeout=5.0):
        """Returns (headers bytes, payload bytes) of the first reply."""
        self.sid += 1
        inbox = f"{self.inbox}.{self.sid}"
        self._send(f"SUB {inbox} {self.sid}\r\nPUB {subject} {inbox} {len(payload)}\r\n".encode()
                   + payload + b"\r\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self._line()
            if line == b"PING":
                self._send(b"PONG\r\n")
                continue
            if line.startswith(b"-ERR"):
                raise ConnectionError(line.decode())
            parts = line.split()
            if parts and parts[0] == b"MSG":
                data = self._bytes(int(parts[-1]))
                if int(parts[2]) == self.sid:
                    self._send(f"UNSUB {self.sid}\r\n".encode())
                    return b"", data
            elif parts and parts[0] == b"HMSG":
                hlen, total = int(parts[-2]), int(parts[-1])
                data = self._bytes(total)
                if int(parts[2]) == self.sid:
                    self._send(f"UNSUB {self.sid}\r\n".encode())
                    return data[:hlen], data[hlen:]
        raise TimeoutError(f"no reply to {subject}")

    def js(self, api, body):
        _, data = self.request(f"$JS.API.{api}", json.dumps(body).encode())
        return json.loads(data)

    def create_stream(self, name=STREAM, subjects=(SUBJECT_PREFIX + ".>",), replicas=1):
        r = self.js(f"STREAM.CREATE.{name}", {
            "name": name, "subjects": list(subjects), "storage": "file", "retention": "limits",
            "num_replicas": replicas, "duplicate_window": 120 * 10**9})
        if "error" in r and r["error"].get("err_code") != 10058:  # 10058: already exists
            raise AssertionError(r)
        return r

    def stream_state(self, name=STREAM):
        return self.js(f"STREAM.INFO.{name}", {})["state"]

    def get_msg(self, seq, name=STREAM):
        r = self.js(f"STREAM.MSG.GET.{name}", {"seq": seq})
        if "error" in r:
            return None
        m = r["message"]
        hdrs = base64.b64decode(m.get("hdrs", "")) if m.get("hdrs") else b""
        headers = {}
        for line in hdrs.decode(errors="replace").split("\r\n")[1:]:
            if ": " in line:
                k, v = line.split(": ", 1)
                headers[k] = v
        return {"subject": m["subject"], "seq": m["seq"], "headers": headers,
                "data": base64.b64decode(m.get("data", ""))}

    def all_messages(self, name=STREAM):
        st = self.stream_state(name)
        out = []
        for seq in range(st["first_seq"], st["last_seq"] + 1) if st["messages"] else []:
            m = self.get_msg(seq, name)
            if m:
                out.append(m)
        return out


# ---- protobuf wire decoding (just the fields the tests look at) -----------------------------------

def _varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def pb_fields(buf):
    """{field number: [values]}: ints for varints/fixed, bytes for length-delimited."""
    fields = {}
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = bytes(buf[i:i + n]), i + n
        elif wt == 1:
            v, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wt == 5:
            v, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        else:
            raise ValueError(f"wire type {wt}")
        fields.setdefault(num, []).append(v)
    return fields


def _one(f, n, default=0):
    return f.get(n, [default])[-1]


def _str(f, n):
    return _one(f, n, b"").decode(errors="replace")


KINDS = {10: "exec", 11: "exit", 12: "fork", 40: "finding", 41: "fraud_score", 90: "stats"}
HOST_FIELDS = ["host_id", "machine_id", "hostname", "boot_id", "agent_version", "kernel_release",
               "cert_identity"]
SPOOL_FIELDS = ["bytes", "segments", "dropped_batches", "dropped_events", "unacked_batches",
                "unacked_events", "queue_dropped_batches", "queue_dropped_events",
                "recovered_bytes"]


def decode_batch(data: bytes):
    raw = zlib.decompress(data)
    f = pb_fields(raw)
    host = pb_fields(_one(f, 1, b""))
    spool = pb_fields(_one(f, 7, b""))
    score = pb_fields(_one(f, 40, b""))
    place = pb_fields(_one(f, 10, b""))
    events = []
    for eb in f.get(5, []):
        e = pb_fields(eb)
        ev = {"event_id": _one(e, 1), "type": "other"}
        for num, name in KINDS.items():
            if num in e:
                ev["type"] = name
                body = pb_fields(e[num][-1])
                if name in ("exec", "exit", "fork"):
                    p = pb_fields(_one(body, 1, b""))
                    ev["pid"] = _one(p, 3)
                    ev["exe"] = _str(p, 14)
                    ev["argv"] = [a.decode(errors="replace") for a in p.get(15, [])]
                if name == "exit":
                    ev["exit_code"] = _one(body, 2)
                if name == "finding":
                    ev["rule_id"] = _str(body, 1)
                    ev["subject"] = _str(body, 8)
        events.append(ev)
    return {
        "seq": _one(f, 2),
        "window_start_ns": _one(f, 3),
        "window_end_ns": _one(f, 4),
        "host": {k: _str(host, i + 1) for i, k in enumerate(HOST_FIELDS)},
        "spool": {k: _one(spool, i + 1) for i, k in enumerate(SPOOL_FIELDS)},
        "has_stats": 6 in f,
        # Batch.fraud_score: None when absent, else its score and RMM vendor count
        "fraud_score": {"score": _one(score, 1), "rmm_vendors": _one(score, 5)} if 40 in f else None,
        # Batch.place, compact: None when absent
        "place": {"gateway_address": _str(place, 1), "interface": _str(place, 4),
                  "timezone": _str(place, 13), "change": _str(place, 17),
                  "neighbour_hashes": len(place.get(11, [])), "changed_by": 18 in place}
        if 10 in f else None,
        "events": events,
        "raw_len": len(raw),
        "wire_len": len(data),
    }
