"""The deploy/ files agree with each other and with the code: the Kubernetes DaemonSet's structure
and capability reasons, the test PKI's file names against the agent config's tls: section, and
the collector's unit (credentials, offline systemd-analyze verify)."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DAEMONSET = DEPLOY / "k8s" / "ghostwatch-daemonset.yaml"

# Every capability the manifest may add: what the agent's code calls (see the reasons in the file).
ALLOWED_CAPS = {"BPF", "PERFMON", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH",
                "SYS_RESOURCE"}


def daemonset():
    docs = [d for d in yaml.safe_load_all(DAEMONSET.read_text()) if d]
    sets = [d for d in docs if d.get("kind") == "DaemonSet"]
    assert len(sets) == 1, [d.get("kind") for d in docs]
    return sets[0]


def agent_container(ds):
    (c,) = [c for c in ds["spec"]["template"]["spec"]["containers"] if c["name"] == "ghostwatch"]
    return c


def test_daemonset_shares_the_hosts_pids_and_network_and_is_not_privileged():
    ds = daemonset()
    assert ds["apiVersion"] == "apps/v1"
    pod = ds["spec"]["template"]["spec"]
    assert pod["hostPID"] is True and pod["hostNetwork"] is True
    assert ds["spec"]["selector"]["matchLabels"].items() <= \
        ds["spec"]["template"]["metadata"]["labels"].items()
    for c in pod["containers"] + pod.get("initContainers", []):
        sc = c.get("securityContext", {})
        assert sc.get("privileged") is not True, c["name"]
        assert sc.get("allowPrivilegeEscalation") is False, c["name"]
        assert sc["capabilities"]["drop"] == ["ALL"], c["name"]


def test_each_capability_is_allowed_and_has_its_reason_beside_it():
    caps = agent_container(daemonset())["securityContext"]["capabilities"]["add"]
    assert caps and set(caps) <= ALLOWED_CAPS, caps
    assert {"BPF", "PERFMON"} <= set(caps)
    assert len(caps) == len(set(caps))
    text = DAEMONSET.read_text()
    for cap in caps:
        m = re.search(rf"^\s*- {cap}\s+# reason: (.+)$", text, re.M)
        assert m and len(m.group(1).split()) >= 4, f"{cap} has no reason comment"


def test_the_mounts_bpf_needs_come_from_the_host():
    ds = daemonset()
    pod = ds["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in agent_container(ds)["volumeMounts"]}

    def host(path):
        m = mounts[path]
        return m, vols[m["name"]]["hostPath"]["path"]

    m, src = host("/sys/kernel/btf")
    assert src == "/sys/kernel/btf" and m["readOnly"] is True
    assert host("/sys/kernel/tracing")[1] == "/sys/kernel/tracing"
    assert host("/sys/fs/cgroup")[1] == "/sys/fs/cgroup"
    assert host("/var/lib/ghostwatch")[1] == "/var/lib/ghostwatch"
    m, src = host("/etc/machine-id")
    assert src == "/etc/machine-id" and m["readOnly"] is True
    # nothing else of the host's file system
    host_paths = {v["hostPath"]["path"] for v in vols.values() if "hostPath" in v}
    assert host_paths == {"/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/cgroup",
                          "/var/lib/ghostwatch", "/etc/machine-id"}


def test_config_and_certificates_come_from_the_secret_and_the_command_runs_the_agent():
    ds = daemonset()
    pod = ds["spec"]["template"]["spec"]
    c = agent_container(ds)
    (secret_vol,) = [v for v in pod["volumes"] if "secret" in v]
    assert secret_vol["secret"]["secretName"] == "ghostwatch"
    (m,) = [m for m in c["volumeMounts"] if m["name"] == secret_vol["name"]]
    assert m["readOnly"] is True
    script = " ".join(c["command"] + c.get("args", []))
    conf = f"{m['mountPath']}/ghostwatch.yaml"
    assert re.search(rf"\bghostwatch run --config {re.escape(conf)}\s*$", script), script
    assert re.search(r"\bexec nsenter --cgroup=/proc/1/ns/cgroup -- ", script), script
    # the node's pair lands where the agent config's tls: section points
    for name in ("agent.crt", "agent.key", "ca.crt"):
        assert f"/run/ghostwatch/tls/{name}" in script, name
        assert re.search(rf"{re.escape(m['mountPath'])}/\S*{name.split('.')[1]}", script)


def tls_section(text):
    section = re.search(r"^tls:\n((?:[ #].*\n|\n)*)", text, re.M).group(1)
    return dict(re.findall(r"^  (cert|key|ca): (\S+)", section, re.M))


def test_the_test_pki_writes_the_names_the_agent_config_expects(tmp_path):
    subprocess.run([str(DEPLOY / "pki" / "make-test-ca.sh"), str(tmp_path / "pki"), "node-1"],
                   check=True, capture_output=True, timeout=60)
    tls = tls_section((DEPLOY / "ghostwatch.yaml").read_text())
    assert set(tls) == {"cert", "key", "ca"}
    dirs = {Path(p).parent for p in tls.values()}
    assert dirs == {Path("/etc/ghostwatch/tls")}, dirs
    per_host = tmp_path / "pki" / "tls-node-1"
    assert sorted(p.name for p in per_host.iterdir()) == sorted(Path(p).name for p in tls.values())
    key = per_host / Path(tls["key"]).name
    assert key.stat().st_mode & 0o077 == 0
    # the pair belongs together and chains to the CA
    crt = per_host / Path(tls["cert"]).name
    ca = per_host / Path(tls["ca"]).name
    v = subprocess.run(["openssl", "verify", "-CAfile", str(ca), str(crt)], capture_output=True,
                       text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    pub = [subprocess.run(["openssl", *args], capture_output=True, check=True).stdout
           for args in (["pkey", "-in", str(key), "-pubout"],
                        ["x509", "-in", str(crt), "-noout", "-pubkey"])]
    assert pub[0] == pub[1]
    subj = subprocess.run(["openssl", "x509", "-in", str(crt), "-noout", "-subject"],
                          capture_output=True, text=True, check=True).stdout
    assert "CN = node-1" in subj or "CN=node-1" in subj, subj
    # the README tells operators to copy this folder
    assert "tls-<host-id>/" in (DEPLOY / "README.md").read_text()


COLLECTOR_UNIT = DEPLOY / "ghostwatch-collector.service"


def test_the_collector_unit_reads_its_tls_files_as_credentials():
    text = COLLECTOR_UNIT.read_text()
    assert re.search(r"^DynamicUser=yes$", text, re.M)
    creds = dict(re.findall(r"^LoadCredential=([^:\s]+):(\S+)$", text, re.M))
    exec_start = re.search(r"^ExecStart=((?:.*\\\n)*.*)$", text, re.M).group(1)
    for flag in ("--ca", "--cert", "--key"):
        m = re.search(rf"{flag} %d/(\S+)", exec_start)
        assert m, f"{flag} does not name a credential: {exec_start}"
        assert m.group(1) in creds, (flag, creds)
        assert creds[m.group(1)].startswith("/etc/ghostwatch/pki/")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_the_collector_unit_verifies_offline(tmp_path):
    # systemd checks the binary exists: any executable stands in for the installed collector
    unit = tmp_path / COLLECTOR_UNIT.name
    unit.write_text(COLLECTOR_UNIT.read_text().replace("/usr/sbin/ghostwatch-collector",
                                                       shutil.which("true")))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
