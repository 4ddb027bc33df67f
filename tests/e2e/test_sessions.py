"""Login sessions and working hours, end to end.

A real Debian sshd on a loopback port (its own host key and config) and a real ssh login with a
test user's key: the agent reads the login from utmp (this host runs no logind) and emits a Session
of type ssh with the user and 127.0.0.1, then its end when the login exits. The activity profile:
a state file holding the hours a UTC+9 worker keeps, declared in America/New_York, raises
GW-SESSION-OFF-HOURS through the agent's own code; the same hours declared in Asia/Tokyo do not.
"""
import os
import pwd
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SSHD = "/usr/sbin/sshd"
USER = "gwsession"
UTMP = "/run/utmp"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def test_user():
    created = False
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/bin/sh", USER], check=True)
        created = True
    # "*" is no password at all, not a locked account: sshd (UsePAM no) lets a key in
    subprocess.run(["usermod", "-p", "*", USER], check=True)
    yield USER
    # the login's sshd may still be on its way out: userdel refuses a user with processes
    for _ in range(50 if created else 0):
        if subprocess.run(["userdel", USER], capture_output=True).returncode in (0, 6):
            break
        time.sleep(0.1)


@pytest.fixture
def utmp_file():
    created = not os.path.exists(UTMP)
    if created:
        Path(UTMP).touch(mode=0o664)
        shutil.chown(UTMP, group="utmp")
    yield UTMP
    if created:
        os.unlink(UTMP)


@pytest.fixture
def sshd(test_user, utmp_file):
    if not os.path.exists(SSHD):
        pytest.skip("openssh-server is not installed (tools/deps.sh installs it)")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    # sshd reads authorized_keys as the user: pytest's tmp_path sits in a 0700 directory
    d = Path(tempfile.mkdtemp(prefix="gw-sshd-"))
    os.chmod(d, 0o755)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", d / "host_key"],
                   check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", d / "user_key"],
                   check=True)
    shutil.copy(d / "user_key.pub", d / "authorized_keys")
    os.chmod(d / "authorized_keys", 0o644)
    port = free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\n"
        f"AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        f"AllowUsers {USER}\nPrintMotd no\nPrintLastLog no\nUseDNS no\nPidFile none\n"
        "LogLevel VERBOSE\n")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", d / "sshd_config"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("sshd did not start: " + proc.stderr.read().decode())
            time.sleep(0.1)
    yield {"port": port, "key": d / "user_key"}
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(d, ignore_errors=True)


def ssh_login(sshd, command):
    return subprocess.Popen(
        ["ssh", "-tt", "-i", str(sshd["key"]), "-p", str(sshd["port"]),
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", f"{USER}@127.0.0.1", command],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def session_event(state, user=USER):
    return lambda e: (e.get("type") == "session" and e["session"].get("state") == state and
                      e["session"].get("user") == user)


def test_ssh_login_is_a_session_with_its_end(agent_factory, sshd):
    agent = agent_factory("--no-network", "--cadence-window=0", "--sessions=utmp")
    assert agent.hooks().get("sessions") == "utmp", agent.stderr
    login = ssh_login(sshd, "sleep 4")
    try:
        start = agent.wait_for(session_event("start"), timeout=10,
                               what="ssh session start")["session"]
    except AssertionError:
        login.kill()
        raise AssertionError("no session start; ssh said: " + login.communicate()[1].decode())
    assert start["type"] == "ssh", start
    assert start["remote_address"] == "127.0.0.1", start
    assert start["source"] == "utmp"
    assert start["tty"].startswith("pts/"), start
    assert int(start["start_ns"]) > 0
    out, err = login.communicate(timeout=20)
    assert login.returncode == 0, err
    end = agent.wait_for(session_event("end"), timeout=10, what="ssh session end")["session"]
    assert end["id"] == start["id"] and int(end["end_ns"]) >= int(start["start_ns"])
    rc, stats = agent.stop()
    assert rc == 0, agent.stderr


def test_forced_logind_on_a_host_without_it(agent_factory):
    """This host runs no logind (systemd is not PID 1), so auto picks utmp. Forced, the real
    sd-login calls run: with logind's state directory present they open and list no session;
    without it the signal is off with libsystemd's reason. Either way the agent runs on."""
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("SKIPPED LOUDLY: systemd is init here; the logind path needs the QEMU guest")
    agent = agent_factory("--no-network", "--cadence-window=0", "--sessions=logind")
    if os.path.isdir("/run/systemd/sessions"):
        assert agent.hooks().get("sessions") == "logind", agent.stderr
    else:
        assert agent.hooks().get("sessions") == "off", agent.stderr
        assert "sd_login_monitor_new" in agent.stderr
    agent.wait_for(lambda e: e.get("type") == "activity_profile", timeout=10, what="profile")
    time.sleep(1)
    assert not agent.find(lambda e: e.get("type") == "session")
    rc, stats = agent.stop()
    assert rc == 0, agent.stderr
    from conftest import counter
    assert counter(stats, "drops", "logind_errors") == 0, stats


def test_session_unlocked_for_a_day_with_input_never_ends(agent_factory, utmp_file):
    """A login record a day old (as login programs write it, on a real pseudo-terminal held by a
    live process) whose terminal was just read: GW-SESSION-NEVER-ENDS names the session."""
    master, slave = os.openpty()
    holder = subprocess.Popen(["sleep", "60"])
    line = os.ttyname(slave)[len("/dev/"):].encode()
    rec = bytearray(384)  # struct utmp on x86-64
    struct.pack_into("<hxxi", rec, 0, 7, holder.pid)  # USER_PROCESS
    rec[8:8 + len(line)] = line
    rec[44:51] = b"gwshift"
    rec[76:87] = b"203.0.113.9"
    struct.pack_into("<ii", rec, 340, int(time.time()) - 25 * 3600, 0)
    rec[348:352] = socket.inet_aton("203.0.113.9")
    original = Path(utmp_file).read_bytes()
    try:
        with open(utmp_file, "ab") as f:
            f.write(rec)
        os.write(master, b"ls\n")
        os.read(slave, 3)  # someone typed and the shell read it: the terminal's atime moves
        agent = agent_factory("--no-network", "--cadence-window=0", "--sessions=utmp")
        start = agent.wait_for(session_event("start", user="gwshift"), timeout=10,
                               what="the day-old session")["session"]
        assert start["remote_address"] == "203.0.113.9" and not start["idle"], start
        f = agent.wait_for(lambda e: e.get("type") == "finding" and
                           e["finding"]["rule_id"] == "GW-SESSION-NEVER-ENDS", timeout=10,
                           what="never-ends finding")["finding"]
        assert f"{line.decode()}:{holder.pid} of gwshift unlocked for 25 h" in f["matched"], f
        rc, stats = agent.stop()
        assert rc == 0, agent.stderr
    finally:
        Path(utmp_file).write_bytes(original)
        holder.kill()
        holder.wait()
        os.close(master)
        os.close(slave)


# --- the activity profile ------------------------------------------------------------------------

PROFILE_HOURS = 14 * 24


def state_file(path, active_utc_hours, now_hour, days=10, weekdays=range(5)):
    """The agent's state format (activity_profile.h): 60 active minutes in each given UTC hour
    of the last `days` days, on local-to-the-worker weekdays only."""
    minutes = bytearray(PROFILE_HOURS)
    for h in range(now_hour - days * 24, now_hour):
        # weekday of the worker at UTC+9 (1970-01-01 was a Thursday)
        if ((h + 9) // 24 + 3) % 7 in weekdays and h % 24 in active_utc_hours:
            minutes[h % PROFILE_HOURS] = 60
    body = b"GWAP" + struct.pack("<IQQ", 1, now_hour, now_hour * 60) + bytes(minutes)
    path.write_bytes(body + struct.pack("<I", zlib.crc32(body)))


# 09:00-18:00 in Tokyo is 00:00-09:00 UTC
TOKYO_DAY_UTC = set(range(0, 9))


def off_hours_findings(agent):
    return agent.find(lambda e: e.get("type") == "finding" and
                      e["finding"]["rule_id"] == "GW-SESSION-OFF-HOURS")


@pytest.mark.parametrize("zone, raises", [("America/New_York", True), ("Asia/Tokyo", False)])
def test_off_hours_profile_through_the_agent(agent_factory, tmp_path, zone, raises):
    now_hour = int(time.time()) // 3600
    state = tmp_path / "activity.state"
    state_file(state, TOKYO_DAY_UTC, now_hour)
    agent = agent_factory("--no-network", "--cadence-window=0", "--sessions=utmp",
                          f"--employee={zone},09:00-18:00,mon-fri", f"--activity-state={state}")
    prof = agent.wait_for(lambda e: e.get("type") == "activity_profile", timeout=10,
                          what="activity profile")["activity_profile"]
    assert int(prof["total_minutes"]) >= 60 * 9 * 6, prof
    assert len(prof["minutes"]) == 168
    assert prof["timezone"] == zone
    assert prof["best_fit"].startswith("UTC+9 09:00-18:00"), prof
    if raises:
        f = agent.wait_for(lambda e: e.get("type") == "finding" and
                           e["finding"]["rule_id"] == "GW-SESSION-OFF-HOURS", timeout=10,
                           what="off-hours finding")["finding"]
        assert f["category"] == "behaviour"
        assert "fits UTC+9 09:00-18:00" in f["matched"], f
        assert "America/New_York" in f["matched"], f
        assert f["evidence"][0]["kind"] == "session", f
    else:
        time.sleep(2)
        assert not off_hours_findings(agent), off_hours_findings(agent)
        assert int(prof["outside_pct"]) == 0, prof
    rc, stats = agent.stop()
    assert rc == 0, agent.stderr
    # the profile was saved back on exit, still valid
    assert state.stat().st_size == 364


def test_round_the_clock_profile_never_ends(agent_factory, tmp_path):
    """Two UTC days with activity in 22 of their hours: a machine shared by shifts."""
    now_hour = int(time.time()) // 3600
    day = now_hour // 24
    state = tmp_path / "activity.state"
    minutes = bytearray(PROFILE_HOURS)
    for h in range((day - 3) * 24, (day - 1) * 24):
        if h % 24 < 22:
            minutes[h % PROFILE_HOURS] = 45
    body = b"GWAP" + struct.pack("<IQQ", 1, now_hour, now_hour * 60) + bytes(minutes)
    state.write_bytes(body + struct.pack("<I", zlib.crc32(body)))
    agent = agent_factory("--no-network", "--cadence-window=0", "--sessions=utmp",
                          f"--activity-state={state}")
    f = agent.wait_for(lambda e: e.get("type") == "finding" and
                       e["finding"]["rule_id"] == "GW-SESSION-NEVER-ENDS", timeout=10,
                       what="never-ends finding")["finding"]
    assert "on 2 days" in f["matched"], f
    # no hours declared: nothing to be outside of
    assert not off_hours_findings(agent)
    rc, stats = agent.stop()
    assert rc == 0, agent.stderr


def test_corrupt_state_is_counted_and_restarted(agent_factory, tmp_path):
    state = tmp_path / "activity.state"
    state.write_bytes(b"GWAP" + os.urandom(360))
    agent = agent_factory("--no-network", "--cadence-window=0", "--sessions=utmp",
                          "--employee=America/New_York,09:00-18:00,mon-fri",
                          f"--activity-state={state}")
    prof = agent.wait_for(lambda e: e.get("type") == "activity_profile", timeout=10,
                          what="activity profile")["activity_profile"]
    assert int(prof.get("total_minutes", 0)) == 0
    rc, stats = agent.stop()
    assert rc == 0
    from conftest import counter
    assert counter(stats, "drops", "activity_state_corrupt") == 1, stats
    assert "not a valid activity state" in agent.stderr


def packed_varints(blob):
    from natsjs import _varint
    out, i = [], 0
    while i < len(blob):
        v, i = _varint(blob, i)
        out.append(v)
    return out


@pytest.mark.skipif(shutil.which("nats-server") is None,
                    reason="SKIPPED LOUDLY: nats-server missing (make deps installs it)")
def test_fleet_batches_carry_the_profile_and_the_finding(tmp_path):
    """ghostwatch run with the employee declared in its config: every batch carries the profile
    (Batch field 11) and the off-hours finding reaches the stream."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from natsjs import NatsServer, make_pki, pb_fields, decode_batch
    from test_fleet_agent import HOST, FleetAgent, client, write_config

    now_hour = int(time.time()) // 3600
    state = tmp_path / "activity.state"
    state_file(state, TOKYO_DAY_UTC, now_hour)
    pki = make_pki(tmp_path / "pki", [HOST])
    server = NatsServer(tmp_path, pki).start()
    agent = None
    try:
        c = client(server, pki)
        cfg = write_config(tmp_path / "gw.yaml", server, pki, tmp_path / "spool")
        with open(cfg, "a") as f:
            f.write("employee:\n  id: e-1042\n  timezone: America/New_York\n"
                    "  hours: \"09:00-18:00\"\n  days: mon-fri\n"
                    f"sessions:\n  state_file: {state}\n  min_active_minutes: 600\n")
        agent = FleetAgent(cfg)
        deadline = time.monotonic() + 30
        while True:
            msgs = c.all_messages()
            batches = [pb_fields(zlib.decompress(m["data"])) for m in msgs]
            findings = [e for m in msgs for e in decode_batch(m["data"])["events"]
                        if e["type"] == "finding" and e.get("rule_id") == "GW-SESSION-OFF-HOURS"]
            if (len(batches) >= 2 and findings) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert batches, agent.log[-2000:]
        assert findings, agent.log[-2000:]
        assert findings[0]["subject"] == "e-1042"
        for b in batches:
            assert 11 in b, "a batch without its activity profile"
            prof = pb_fields(b[11][-1])
            minutes = packed_varints(prof[1][-1])
            assert len(minutes) == 168 and sum(minutes) == prof[2][-1] > 0
            assert prof[5][-1] == b"America/New_York"
            assert prof[9][-1].startswith(b"UTC+9 09:00-18:00")
        c.close()
        assert agent.stop() == 0, agent.log[-3000:]
    finally:
        if agent and agent.proc.poll() is None:
            agent.proc.kill()
        server.stop()
