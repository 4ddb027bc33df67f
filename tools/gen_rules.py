#!/usr/bin/python3
"""Generates rules/{rmm,vpn,ipkvm,jigglers}.yaml from the researched indicator data.

    /usr/bin/python3 tools/gen_rules.py INDICATOR_DIR [OUT_DIR]

INDICATOR_DIR holds ipkvm.json, jigglers.json, rmm.json, vpn.json (the research notes the rules were
derived from; every value there carries its source). The output is committed: the agent, the build
and the tests only ever read rules/*.yaml, never the indicator data. Re-run after the data changes
and review the diff like any other code change.

Rule ids are stable: every tool/device has a fixed number in the tables below (append only, never
renumber) and every rule kind of that tool a fixed suffix, so an id keeps its meaning across
regenerations and users can override it in /etc/ghostwatch/rules.d/.
"""
import json
import re
import sys
from pathlib import Path

LOLRMM = "magicsword-io/LOLRMM@3c75cf091b10bf7e8ecd576055c44d172b35ff21"
SIGMA_TV = ("SigmaHQ/sigma@02bc901fd783093ecf2c36da4f445f7d0b8508ad rules/linux/process_creation/"
            "proc_creation_lnx_remote_access_tools_teamviewer_incoming_connection.yml")

# ---- RMM / remote access / tunnels ---------------------------------------------------------------
# (number, LOLRMM name, category, severity of a process/network hit). Category "tunnel" = overlay
# VPN / reverse tunnel (T1572); "rmm" = remote desktop / remote shell (T1219).
RMM_TOOLS = [
    (1, "AnyDesk", "rmm", "medium"),
    (2, "RustDesk", "rmm", "medium"),
    (3, "TeamViewer", "rmm", "medium"),
    (4, "Chrome Remote Desktop", "rmm", "medium"),
    (5, "Splashtop", "rmm", "medium"),
    (6, "Splashtop Remote", "rmm", "medium"),
    (7, "ScreenConnect", "rmm", "medium"),
    (8, "ConnectWise Control", "rmm", "medium"),
    (9, "VNC", "rmm", "low"),
    (10, "TigerVNC", "rmm", "low"),
    (11, "TightVNC", "rmm", "low"),
    (12, "NoMachine", "rmm", "medium"),
    (13, "Zoho Assist", "rmm", "medium"),
    (14, "Parsec", "rmm", "medium"),
    (15, "Tailscale", "tunnel", "low"),
    (16, "ZeroTier", "tunnel", "low"),
    (17, "NetBird", "tunnel", "low"),
    (18, "ngrok", "tunnel", "medium"),
    (19, "CloudFlare Tunnel", "tunnel", "low"),
    (20, "LocalXpose", "tunnel", "medium"),
    (21, "Visual Studio Dev Tunnel", "tunnel", "low"),
    (22, "tmate", "rmm", "medium"),
    (23, "MeshCentral", "rmm", "medium"),
    (24, "HopToDesk", "rmm", "medium"),
    (25, "DW Service", "rmm", "medium"),
    (26, "Remote.it", "tunnel", "medium"),
    (27, "Guacamole", "rmm", "low"),
    (28, "Supremo", "rmm", "medium"),
    (29, "ToDesk", "rmm", "medium"),
    (30, "SunLogin", "rmm", "medium"),
    (31, "AweRay", "rmm", "medium"),
    (32, "GetScreen", "rmm", "medium"),
    (33, "Teleport Connect", "tunnel", "low"),
    (34, "ShellHub", "rmm", "medium"),
    (35, "PiTunnel", "tunnel", "medium"),
    (36, "Dataplicity", "rmm", "medium"),
    (37, "Remotely", "rmm", "medium"),
    (38, "ControlR", "rmm", "medium"),
    (39, "HelpWire", "rmm", "medium"),
    (40, "Nezha", "rmm", "medium"),
    (41, "Komari", "rmm", "low"),
    (42, "GoToMyPC", "rmm", "medium"),
    (43, "LogMeIn", "rmm", "medium"),
    (44, "RemotePC", "rmm", "medium"),
    (45, "Jump Desktop", "rmm", "medium"),
    (46, "Atera", "rmm", "medium"),
    (47, "NinjaRMM", "rmm", "medium"),
    (48, "SimpleHelp", "rmm", "medium"),
    (49, "UltraViewer", "rmm", "medium"),
    (50, "AnyViewer", "rmm", "medium"),
    (51, "Iperius Remote", "rmm", "medium"),
    (52, "ISL Online", "rmm", "medium"),
    (53, "Remote Utilities", "rmm", "medium"),
    (54, "Duet Display", "rmm", "low"),
    (55, "Parallels Access", "rmm", "medium"),
    (56, "Veyon", "rmm", "low"),
    (57, "eHorus", "rmm", "medium"),
    (58, "Alpemix", "rmm", "medium"),
]
# Suffixes of a rule id per kind: GW-RMM-<tool:02><kind:02>.
K_EXEC, K_DNS, K_CIDR, K_PORTS, K_SESSION, K_SERVER, K_NETIF, K_PORTS_LOW = 1, 2, 3, 4, 5, 6, 7, 8

# Linux executable names/paths the LOLRMM entry lacks, each with where it comes from. A name
# "derived from LOLRMM PE metadata" is the Windows file name without ".exe": the Linux builds of these
# tools ship a binary of that name, but no source in the data says so, hence confidence medium/low.
LINUX_EXEC = {
    "AnyDesk": (["anydesk"], [], "medium",
                f"{LOLRMM} yaml/anydesk.yaml (PEMetadata Filename anydesk.exe; Linux name = same without .exe)"),
    "RustDesk": (["rustdesk"], [], "medium",
                 f"{LOLRMM} yaml/rustdesk.yaml (InstallationPaths rustdesk.exe; Linux name = same without .exe)"),
    "TeamViewer": (["teamviewer", "TeamViewer", "TeamViewer_Service", "TeamViewer_Desktop", "teamviewerhost"],
                   [], "high", f"{SIGMA_TV}; {LOLRMM} yaml/teamviewer.yaml (teamviewer_service.exe, teamviewer_desktop.exe, teamviewerhost)"),
    "Chrome Remote Desktop": (["remoting_host"], [], "low",
                              f"{LOLRMM} yaml/chrome_remote_desktop.yaml (remoting_host.exe; Linux name = same without .exe)"),
    "VNC": (["vncserver", "vncviewer"], [], "low",
            f"{LOLRMM} yaml/vnc.yaml (vncserver.exe, vncviewer.exe; Linux name = same without .exe)"),
    "TightVNC": (["tvnserver", "tvnviewer"], [], "low",
                 f"{LOLRMM} yaml/tightvnc.yaml (tvnserver.exe, tvnviewer.exe; Linux name = same without .exe)"),
    "NoMachine": (["nxserver", "nxd", "nxhtd", "nxsshd"], [], "medium",
                  "https://www.nomachine.com/print/12397 (Enterprise Desktop guide: nxserver, nxd, nxhtd, nxsshd)"),
    "Parsec": (["parsecd"], [], "medium", f"{LOLRMM} yaml/parsec.yaml (PEMetadata parsecd.exe; Linux name = same without .exe)"),
    "Tailscale": (["tailscaled"], [], "medium", f"{LOLRMM} yaml/tailscale.yaml (tailscaled.exe; Linux name = same without .exe)"),
    "ngrok": (["ngrok"], [], "medium", f"{LOLRMM} yaml/ngrok.yaml (ngrok.exe; Linux name = same without .exe)"),
    "CloudFlare Tunnel": (["cloudflared"], [], "medium",
                          f"{LOLRMM} yaml/cloudflare_tunnel.yaml (cloudflared.exe; Linux name = same without .exe)"),
    "Guacamole": (["guacd"], [], "low", f"{LOLRMM} yaml/guacamole.yaml (guacd.exe; Linux name = same without .exe)"),
    "ToDesk": (["todesk"], [], "low", f"{LOLRMM} yaml/todesk.yaml (todesk.exe; Linux name = same without .exe)"),
    "MeshCentral": (["meshagent"], [], "medium",
                    f"{LOLRMM} yaml/meshcentral.yaml (Disk /usr/local/mesh_services/meshagent/meshagent)"),
    "ControlR": (["ControlR.Agent"], [], "medium",
                 f"{LOLRMM} yaml/controlr.yaml (Disk /usr/local/bin/ControlR/*/ControlR.Agent)"),
    "Remotely": (["Remotely_Agent", "Remotely_Desktop"], [], "medium",
                 f"{LOLRMM} yaml/remotely.yaml (/usr/local/bin/Remotely/Remotely_Agent, Desktop/Remotely_Desktop)"),
    "Veyon": (["veyon-server", "veyon-worker", "veyon-service"], [], "low",
              f"{LOLRMM} yaml/veyon.yaml (veyon-server.exe etc.; Linux name = same without .exe)"),
}

# Domains that LOLRMM lists for a tool but that every developer machine talks to: matching them
# would flag all of GitHub. Left out on purpose (documented in rules/README.md).
GENERIC_DOMAINS = {
    "github.com", "raw.githubusercontent.com", "ghcr.io", "packagesstore.blob.core.windows.net",
    "agentreportingstore.blob.core.windows.net", "stunserver.stunprotocol.org", "user_managed",
    "*.zoho.com", "*.zoho.eu", "*.zoho.in", "*.zoho.com.au", "*.zoho.com.cn", "*.parallels.com",
}

# Ports that identify a tool on their own (outbound). 443/80/3478/51820/5000/5555 say nothing alone.
RMM_PORTS = {
    "RustDesk": ([("21115-21119", "tcp"), ("21116", "udp")], "high",
                 "rustdesk/rustdesk-server id-relay-set.md (hbbs 21115/tcp, 21116/tcp+udp, 21118/tcp; hbbr 21117/tcp, 21119/tcp); https://hub.docker.com/r/hangyvv/rustdesk-server"),
    "TeamViewer": ([("5938", "tcp"), ("5938", "udp")], "high",
                   "https://www.teamviewer.com/pt-br/global/support/knowledge-base/teamviewer-remote/troubleshooting/ports-used-by-teamviewer/"),
    "NetBird": ([("33073", "tcp")], "medium", f"{LOLRMM} yaml/netbird.yaml (Ports 443, 33073, 51820)"),
    "Komari": ([("25774", "tcp")], "low", f"{LOLRMM} yaml/komari.yaml (Ports 25774, 443)"),
}
RMM_PORTS_LOW = {
    "AnyDesk": ([("6568", "tcp")], "low",
                "http://www.bqtyf.cn/networking/how-to-block-anydesk-traffic-on-fortigate-firewall-1765864279.html (third-party: TCP 6568 default)"),
}

# ---- Linux packages: what the tools' Linux packages really install and run ---------------------
# LOLRMM is Windows-first: its "Linux" names are often a PE name with ".exe" dropped. The table
# below is read from the Linux packages themselves: Debian 12's file lists (apt-get download +
# dpkg -c) for what Debian ships, the vendors' own packaging files for the rest. Every value keeps
# its source; a tool whose Linux artifacts no source gave is left out (rules/README.md says which).
# A program run by an interpreter (python, perl, sh) is matched by its script (script_names), since
# the exe is then the interpreter.


def deb12(pkg, ver, what="file list"):
    return f"Debian 12 package {pkg} {ver} {what}"


X11VNC = deb12("x11vnc", "0.9.16-9")
XRDP = deb12("xrdp", "0.9.21.1-1+deb12u3")
TIGER = "1.12.0+dfsg-8"
TIGHT = "1:1.3.10-7"
KDE = "4:22.12.3-1"
FREERDP = "2.11.7+dfsg1-6~deb12u1"
CHROMIUM_CRD = ("chromium/chromium@1a5e19b59f677b58aeb53ccef1c430d3a7f11c05 "
                "remoting/host/installer/linux/Makefile (INSTALL_DIR /opt/google/chrome-remote-desktop: "
                "chrome-remote-desktop = linux_me2me_host.py, chrome-remote-desktop-host, start-host, "
                "user-session, native-messaging-host, remote-assistance-host, remote-open-url, "
                "remote-webauthn, crash-uploader, is-remoting-session, Xsession, configure-url-forwarder; "
                "unit chrome-remote-desktop@.service)")
REALVNC_DOCS = ["https://www.realvnc.com/docs/man/vncserver-virtuald.html",
                "https://www.realvnc.com/docs/man/vncserver-virtual.html",
                "http://www.realvnc.com/products/vnc/documentation/5.2/reference/vncserver-x11-serviced.html"]

# Tools LOLRMM does not list, numbered after RMM_TOOLS (append only): (number, name, category).
LINUX_ONLY_TOOLS = [
    (59, "x11vnc", "rmm"),
    (60, "xrdp", "rmm"),
    (61, "GNOME Remote Desktop", "rmm"),
    (62, "KDE Krfb", "rmm"),
    (63, "Vino", "rmm"),
    (64, "RealVNC", "rmm"),
    (65, "Sunshine", "rmm"),
    (66, "FreeRDP", "rmm"),
    (67, "Remmina", "rmm"),
    (68, "SSVNC", "rmm"),
    (69, "frp", "tunnel"),
    (70, "KDE KRDC", "rmm"),
]
# Rule kinds of the Linux-package rules (same GW-RMM-<tool><kind> scheme as above): the serving /
# host side (a desktop is shared from this machine), a connection accepted on the service's
# default port, and the viewer / client side.
K_LINUX_HOST, K_LISTEN, K_LINUX_CLIENT = 9, 10, 11

# (tool, kind, severity, confidence, title, match kind, condition, sources, comment)
LINUX_PKG = [
    ("x11vnc", K_LINUX_HOST, "high", "high", "x11vnc VNC server (shares a running X display) executed",
     "exec", {"names": ["x11vnc"], "paths": ["/usr/bin/x11vnc"], "script_names": ["Xdummy"]},
     [X11VNC + " (/usr/bin/x11vnc; /usr/bin/Xdummy, a sh script)"],
     "x11vnc exports the live desktop: the laptop-farm way to drive a machine remotely."),
    ("xrdp", K_LINUX_HOST, "high", "high", "xrdp RDP server (or one of its programs) executed",
     "exec", {"names": ["xrdp", "xrdp-sesman", "xrdp-chansrv", "xrdp-sesrun", "xrdp-sesadmin",
                        "xrdp-keygen", "xrdp-genkeymap", "xrdp-dis"],
              "paths": ["/usr/sbin/xrdp", "/usr/sbin/xrdp-sesman", "/usr/sbin/xrdp-chansrv"],
              "script_names": ["startwm.sh", "reconnectwm.sh"]},
     [XRDP + " (/usr/sbin/xrdp, xrdp-sesman, xrdp-chansrv; /usr/bin/xrdp-sesrun, xrdp-sesadmin, "
             "xrdp-keygen, xrdp-genkeymap, xrdp-dis; /etc/xrdp/startwm.sh, reconnectwm.sh; "
             "units xrdp.service, xrdp-sesman.service)"], None),
    ("xrdp", K_LISTEN, "high", "medium", "RDP service port 3389 accepted a connection",
     "flow", {"protocols": ["tcp"], "direction": "inbound", "ports": [3389]},
     [deb12("xrdp", "0.9.21.1-1+deb12u3", "/etc/xrdp/xrdp.ini (port=3389)")],
     "Inbound: the local listening port. xrdp-sesman's 3350 listens on 127.0.0.1 only (sesman.ini)."),
    ("GNOME Remote Desktop", K_LINUX_HOST, "low", "low",
     "GNOME Remote Desktop daemon (RDP/VNC screen sharing) executed",
     "exec", {"names": ["gnome-remote-desktop-daemon", "grdctl"],
              "paths": ["/usr/libexec/gnome-remote-desktop-daemon"]},
     [deb12("gnome-remote-desktop", "43.3-1") + " (/usr/libexec/gnome-remote-desktop-daemon, "
      "/usr/bin/grdctl; user unit gnome-remote-desktop.service)"],
     "The daemon can run in any GNOME session with the package installed and serves only when "
     "sharing is switched on: low alone, never part of a combination."),
    ("KDE Krfb", K_LINUX_HOST, "high", "high", "Krfb (KDE desktop sharing, VNC server) executed",
     "exec", {"names": ["krfb", "krfb-virtualmonitor"]},
     [deb12("krfb", KDE) + " (/usr/bin/krfb, /usr/bin/krfb-virtualmonitor)"], None),
    ("Vino", K_LINUX_HOST, "high", "high", "Vino (GNOME VNC server) executed",
     "exec", {"names": ["vino-server"], "paths": ["/usr/libexec/vino-server", "/usr/lib/vino/vino-server"]},
     [deb12("vino", "3.22.0-6") + " (/usr/libexec/vino-server, /usr/lib/vino/vino-server symlink; "
      "user unit vino-server.service)"], None),
    ("TigerVNC", K_LINUX_HOST, "medium", "high", "TigerVNC server executed",
     "exec", {"names": ["Xtigervnc", "X0tigervnc", "tigervncsession", "tigervncconfig", "Xvnc",
                        "x0vncserver", "vncsession"],
              "paths": ["/usr/bin/Xtigervnc", "/usr/bin/X0tigervnc", "/usr/sbin/tigervncsession"],
              "script_names": ["tigervncserver", "x0tigervncserver", "tigervncsession-start"]},
     [deb12("tigervnc-standalone-server", TIGER) + " (/usr/bin/Xtigervnc; /usr/bin/tigervncserver, "
      "a perl script; /usr/sbin/tigervncsession; /usr/libexec/tigervncsession-start, a bash script; "
      "unit tigervncserver@.service; postinst alternatives vncserver, Xvnc, vncsession)",
      deb12("tigervnc-scraping-server", TIGER) + " (/usr/bin/X0tigervnc; /usr/bin/x0tigervncserver, "
      "a perl script; postinst alternative x0vncserver)",
      deb12("tigervnc-common", TIGER) + " (/usr/bin/tigervncconfig)"],
     "Xvnc/x0vncserver/vncsession are the Debian alternatives' names: the kernel reports the "
     "resolved binary, so they match only as the comm of an exe-less event."),
    ("TigerVNC", K_LINUX_CLIENT, "low", "high", "TigerVNC viewer executed",
     "exec", {"names": ["xtigervncviewer", "xvncviewer"]},
     [deb12("tigervnc-viewer", TIGER) + " (/usr/bin/xtigervncviewer; postinst alternatives vncviewer, "
      "xvncviewer)"], None),
    ("TightVNC", K_LINUX_HOST, "medium", "high", "TightVNC server executed",
     "exec", {"names": ["Xtightvnc", "tightvncconnect"], "script_names": ["tightvncserver"]},
     [deb12("tightvncserver", TIGHT) + " (/usr/bin/Xtightvnc, /usr/bin/tightvncconnect; "
      "/usr/bin/tightvncserver, a perl script; postinst alternatives vncserver, Xvnc, vncconnect)"],
     None),
    ("TightVNC", K_LINUX_CLIENT, "low", "high", "TightVNC viewer executed",
     "exec", {"names": ["xtightvncviewer"]},
     [deb12("xtightvncviewer", TIGHT) + " (/usr/bin/xtightvncviewer; postinst alternatives "
      "vncviewer, xvncviewer)"], None),
    ("VNC", K_LISTEN, "medium", "medium", "VNC (RFB) service port 5900-5909 accepted a connection",
     "flow", {"protocols": ["tcp"], "direction": "inbound", "ports": ["5900-5909"]},
     [deb12("tigervnc-standalone-server", TIGER, "Xtigervnc(1): -rfbport default 5900 plus the "
            "display number"),
      X11VNC + " x11vnc(1): -rfbport, e.g. 5900, 5901",
      "https://www.realvnc.com/docs/man/vncserver-virtual.html (port 5900 + DISPLAY)"],
     "5900 + display number for displays :0 to :9."),
    ("SSVNC", K_LINUX_CLIENT, "low", "high", "SSVNC (VNC viewer over SSH/SSL) executed",
     "exec", {"names": ["ultravnc_dsm_helper", "vncstorepw"], "path_prefixes": ["/usr/lib/ssvnc/"],
              "script_names": ["ssvnc", "sshvnc", "tsvnc", "ssvnc_cmd", "ss_vncviewer", "ssvnc.tcl"]},
     [deb12("ssvnc", "1.0.29-6+b1") + " (/usr/bin/ssvnc, sshvnc, tsvnc: sh scripts; ssvncviewer -> "
      "/usr/lib/ssvnc/vncviewer; /usr/lib/ssvnc/: ssvnc_cmd, util/ss_vncviewer, util/ssvnc.tcl, "
      "ultravnc_dsm_helper, vncstorepw)"], None),
    ("KDE KRDC", K_LINUX_CLIENT, "low", "high", "KRDC (KDE RDP/VNC client) executed",
     "exec", {"names": ["krdc"]}, [deb12("krdc", KDE) + " (/usr/bin/krdc)"], None),
    ("Remmina", K_LINUX_CLIENT, "low", "high", "Remmina remote desktop client executed",
     "exec", {"names": ["remmina"], "script_names": ["remmina-file-wrapper", "remmina-gnome"]},
     [deb12("remmina", "1.4.29+dfsg-1") + " (/usr/bin/remmina; /usr/bin/remmina-file-wrapper, a bash "
      "script; /usr/bin/remmina-gnome, a sh script)"], None),
    ("FreeRDP", K_LINUX_HOST, "high", "high", "FreeRDP shadow server (shares this desktop over RDP) executed",
     "exec", {"names": ["freerdp-shadow-cli"]},
     [deb12("freerdp2-shadow-x11", FREERDP) + " (/usr/bin/freerdp-shadow-cli)"], None),
    ("FreeRDP", K_LINUX_CLIENT, "low", "high", "FreeRDP client executed",
     "exec", {"names": ["xfreerdp"]}, [deb12("freerdp2-x11", FREERDP) + " (/usr/bin/xfreerdp)"], None),
    ("Chrome Remote Desktop", K_LINUX_HOST, "high", "high",
     "Chrome Remote Desktop host (Linux package) executed",
     "exec", {"names": ["chrome-remote-desktop-host", "remote-assistance-host"],
              "path_prefixes": ["/opt/google/chrome-remote-desktop/"],
              "script_names": ["chrome-remote-desktop", "is-remoting-session", "configure-url-forwarder"]},
     [CHROMIUM_CRD],
     "The Linux host is /opt/google/chrome-remote-desktop/, not remoting_host (GW-RMM-0401, "
     "LOLRMM's Windows name); chrome-remote-desktop itself is a python script."),
    ("AnyDesk", K_LINUX_HOST, "medium", "medium", "AnyDesk (Linux package layout) executed",
     "exec", {"paths": ["/usr/libexec/anydesk"],
              "path_prefixes": ["/usr/share/anydesk/", "/usr/lib/anydesk/", "/usr/lib64/anydesk/"]},
     ["Etersoft/eepm@09e666cc34e4d7ddb57b9a0fb51d905cf22a8993 repack.d/anydesk.sh (AnyDesk's rpm: "
      "/usr/libexec/anydesk, /usr/lib64/anydesk/, /usr/share/anydesk/files/systemd/anydesk.service)"],
     "The name anydesk is GW-RMM-0101."),
    ("RustDesk", K_LINUX_HOST, "medium", "high", "RustDesk (Linux package layout) executed",
     "exec", {"path_prefixes": ["/usr/lib/rustdesk/", "/usr/share/rustdesk/"]},
     ["rustdesk/rustdesk@01968e71ad7dd41a18c5624f91ea908b826e98b0 res/PKGBUILD (/usr/lib/rustdesk/ "
      "bundle, /usr/bin/rustdesk -> /usr/lib/rustdesk/rustdesk, /usr/share/rustdesk/files/rustdesk.service)"],
     "The name rustdesk is GW-RMM-0201."),
    ("TeamViewer", K_LINUX_HOST, "medium", "high", "TeamViewer (Linux package) daemon or program executed",
     "exec", {"names": ["teamviewerd", "teamviewer-config"], "path_prefixes": ["/opt/teamviewer/"]},
     ["NixOS/nixpkgs@02f80418431c3c503e14f981cf81a2dcead3b5f4 pkgs/applications/networking/remote/"
      "teamviewer/default.nix (TeamViewer's deb: /opt/teamviewer/tv_bin/teamviewerd, TeamViewer, "
      "TeamViewer_Desktop, teamviewer-config, script/teamviewer, script/teamviewerd.service)"],
     "TeamViewer, TeamViewer_Desktop are GW-RMM-0301."),
    ("MeshCentral", K_LINUX_HOST, "medium", "high", "MeshCentral agent (Linux install directory) executed",
     "exec", {"path_prefixes": ["/usr/local/mesh/"]},
     ["Ylianst/MeshCentral@026a81a5e8245d5bd038d989d8ac462a5f7f2964 agents/meshinstall-linux.sh "
      "(installpath /usr/local/mesh; meshagent -fullinstall)",
      "Ylianst/MeshCentral@fc2d782043424cd852f27ac92de2972b5754ec40 agents/meshinstall-bsd-rcd.sh "
      "(/usr/local/mesh/meshagent)"],
     "/usr/local/mesh_services/ and the name meshagent are GW-RMM-2301 (LOLRMM)."),
    ("DW Service", K_LINUX_HOST, "medium", "medium", "DWService agent (Linux install directory) executed",
     "exec", {"path_prefixes": ["/usr/share/dwagent/"]},
     ["cleitonleonel/CupsPrinters@b7071779e65aa669d1a1e48baf999b08ae46b265 config/linux/install_dwagent.sh (third-party wrapper of "
      "https://www.dwservice.net/download/dwagent.sh: /usr/share/dwagent/runtime/bin/, dwagent.service)"],
     None),
    ("RealVNC", K_LINUX_HOST, "high", "high", "RealVNC Server executed",
     "exec", {"names": ["vncserver-x11", "vncserver-x11-serviced", "vncserver-virtual",
                        "vncserver-virtuald"]},
     REALVNC_DOCS, None),
    ("RealVNC", K_LISTEN, "high", "medium", "RealVNC virtual-mode daemon port 5999 accepted a connection",
     "flow", {"protocols": ["tcp"], "direction": "inbound", "ports": [5999]},
     REALVNC_DOCS[:1], "vncserver-virtuald listens on 5999 by default (DaemonPort)."),
    ("Sunshine", K_LINUX_HOST, "high", "high", "Sunshine game-stream host (remote desktop for Moonlight) executed",
     "exec", {"names": ["sunshine"], "paths": ["/usr/bin/sunshine"]},
     ["LizardByte/Sunshine@04f2775cc8579d5de49f2d08d8f52eebe58e15dc packaging/linux/Arch/PKGBUILD "
      "(SUNSHINE_EXECUTABLE_PATH=/usr/bin/sunshine)",
      "LizardByte/Sunshine@013b0e6da986fadb0d24bb69754a4b0e34076ba3 packaging/linux/sunshine.service.in "
      "(user unit sunshine.service)"], None),
    ("Sunshine", K_LISTEN, "high", "medium", "Sunshine port 47989/47990 accepted a connection",
     "flow", {"protocols": ["tcp"], "direction": "inbound", "ports": [47989, 47990]},
     ["LizardByte/Sunshine@034549ce09ba8422ee1750b6a1dba896ea71ede6 docs/configuration.md (port "
      "default 47989; web UI host authority localhost:47990)"], None),
    ("frp", K_LINUX_HOST, "medium", "high", "frp reverse-proxy tunnel (frpc/frps) executed",
     "exec", {"names": ["frpc", "frps"], "paths": ["/usr/bin/frps", "/usr/bin/frpc"]},
     ["fatedier/frp@1ba9654b5b3726d7cafdf8f65280a542b2674406 conf/systemd/frps.service "
      "(ExecStart=/usr/bin/frps)",
      "fatedier/frp@1ba9654b5b3726d7cafdf8f65280a542b2674406 conf/systemd/frpc.service "
      "(ExecStart=/usr/bin/frpc)"], None),
    ("frp", K_LISTEN, "medium", "low", "frp server port 7000 accepted a connection",
     "flow", {"protocols": ["tcp"], "direction": "inbound", "ports": [7000]},
     ["fatedier/frp@0270fd7407fcad56472b15074829621f440b7156 conf/frps.toml (bindPort = 7000)"], None),
]

VENDOR_NAME = {"Splashtop Remote": "Splashtop", "ConnectWise Control": "ScreenConnect",
               "TigerVNC": "VNC", "TightVNC": "VNC"}

IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def dns_suffix(domain):
    """LOLRMM domain -> DNS suffix matched on label boundaries, or None when it is not a name."""
    d = domain.strip().lower()
    d = re.sub(r":\d+$", "", d)
    if d in GENERIC_DOMAINS or domain in GENERIC_DOMAINS or IPV4.match(d):
        return None
    labels = d.split(".")
    # Keep the labels right of the last one holding a wildcard or regex:
    # "relay-[a-f0-9]{8}.net.anydesk.com" -> "net.anydesk.com", "connect.*.ngrok-agent.com" ->
    # "ngrok-agent.com", "px-*.getscreen.me" -> "getscreen.me".
    for i in range(len(labels) - 1, -1, -1):
        if re.search(r"[*\[\]{}]", labels[i]):
            labels = labels[i + 1:]
            break
    if len(labels) < 2:
        return None
    return ".".join(labels)


def q(s):
    """A YAML scalar: plain when unambiguous, else double-quoted."""
    if isinstance(s, int):
        return str(s)
    s = str(s)
    if re.fullmatch(r"[A-Za-z_/][A-Za-z0-9_./+-]*", s) and s.lower() not in (
            "yes", "no", "true", "false", "null", "on", "off", "y", "n"):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def emit_list(out, indent, key, values):
    flat = "[" + ", ".join(q(v) for v in values) + "]"
    if len(flat) + indent + len(key) < 96:
        out.append(" " * indent + f"{key}: {flat}")
    else:
        out.append(" " * indent + f"{key}:")
        for v in values:
            out.append(" " * indent + f"  - {q(v)}")


def emit_rules(path, header, rules):
    out = [f"# {line}" if line else "#" for line in header]
    out += ["", "version: 1", "rules:"]
    for r in rules:
        out.append("")
        if r.get("comment"):
            out.append(f"  # {r['comment']}")
        out.append(f"  - id: {r['id']}")
        for k in ("title", "category", "vendor", "severity", "technique", "confidence"):
            out.append(f"    {k}: {q(r[k])}")
        out.append("    sources:")
        for s in r["sources"]:
            out.append(f"      - {q(s)}")
        out.append("    match:")
        kind, cond = r["match"]
        out.append(f"      {kind}:")
        for k, v in cond.items():
            if isinstance(v, dict):
                out.append(f"        {k}:")
                for k2, v2 in v.items():
                    out.append(f"          {k2}: {str(v2).lower() if isinstance(v2, bool) else v2}")
            elif isinstance(v, list):
                emit_list(out, 8, k, v)
            else:
                out.append(f"        {k}: {q(v)}")
    Path(path).write_text("\n".join(out) + "\n")
    return rules


def rule(rid, title, category, vendor, severity, technique, confidence, sources, kind, cond, comment=None):
    return {"id": rid, "title": title, "category": category, "vendor": vendor, "severity": severity,
            "technique": technique, "confidence": confidence, "sources": sources,
            "match": (kind, cond), "comment": comment}


def linux_paths(tool):
    """Linux executable paths and directory prefixes named by LOLRMM (config/unit files dropped)."""
    paths, prefixes = [], []
    cands = list(tool.get("installation_paths_or_process_names") or [])
    cands += [d["file"] for d in tool.get("disk_artifacts") or [] if d.get("os") == "Linux"]
    for p in cands:
        if not p.startswith("/") or p.startswith(("/Applications", "/Library", "/etc/", "/home/", "/var/", "/lib/systemd")):
            continue
        if re.search(r"\.(service|conf|json|db|msh|yml|yaml|env|plist|desktop|crt|log)$", p):
            continue
        if p.endswith("/*") or p.endswith("/"):
            pre = p.rstrip("*")
            if "*" not in pre:
                prefixes.append(pre)
        elif "*" in p:
            pre = p[:p.index("*")]
            pre = pre[:pre.rindex("/") + 1]
            if pre.count("/") > 2:
                prefixes.append(pre)
        else:
            paths.append(p)
    # A prefix already covers the paths below it.
    paths = [p for p in paths if not any(p.startswith(pre) for pre in prefixes)]
    return sorted(set(paths)), sorted(set(prefixes))


def linux_names(tool):
    """Bare Linux executable names LOLRMM lists (no extension, no path, no wildcard)."""
    names = []
    for p in (tool.get("installation_paths_or_process_names") or []) + \
            [m.get("Filename", "") for m in tool.get("pe_metadata") or []]:
        if p and "/" not in p and "\\" not in p and "*" not in p and "." not in p and " " not in p:
            names.append(p)
    return names


def gen_linux_pkg():
    """The rules of LINUX_PKG, numbered by the tool's RMM_TOOLS / LINUX_ONLY_TOOLS entry."""
    tools = {name: (num, cat) for num, name, cat, _ in RMM_TOOLS}
    tools.update({name: (num, cat) for num, name, cat in LINUX_ONLY_TOOLS})
    out = []
    for name, kind, sev, conf, title, mkind, cond, sources, comment in LINUX_PKG:
        num, category = tools[name]
        technique = "T1572" if category == "tunnel" else "T1219"
        out.append(rule(f"GW-RMM-{num:02d}{kind:02d}", title, category, VENDOR_NAME.get(name, name),
                        sev, technique, conf, sources, mkind, cond, comment))
    return sorted(out, key=lambda r: r["id"])


def gen_rmm(ind, out_dir):
    data = json.loads((ind / "rmm.json").read_text())
    tools = {t["name"]: t for t in data["priority_tools_for_linux_endpoints"]}
    rules = []
    for num, name, category, severity in RMM_TOOLS:
        t = tools[name]
        src = f"{LOLRMM} {t['lolrmm_file']}"
        vendor = VENDOR_NAME.get(name, name)
        technique = "T1572" if category == "tunnel" else "T1219"
        what = "tunnel/overlay VPN" if category == "tunnel" else "remote access tool"
        base = f"GW-RMM-{num:02d}"

        names = linux_names(t)
        sources = [src]
        conf = "medium"
        if name in LINUX_EXEC:
            extra, _, conf, esrc = LINUX_EXEC[name]
            names = extra + [n for n in names if n not in extra]
            sources = [esrc] if esrc.startswith(LOLRMM) else [esrc, src]
        paths, prefixes = linux_paths(t)
        if names or paths or prefixes:
            cond = {}
            if names:
                cond["names"] = sorted(set(names), key=names.index)
            if paths:
                cond["paths"] = paths
            if prefixes:
                cond["path_prefixes"] = prefixes
            if name not in LINUX_EXEC:
                conf = "high" if paths or prefixes else "medium"
            rules.append(rule(f"{base}{K_EXEC:02d}", f"{vendor} {what} executed", category, vendor,
                              severity, technique, conf, sources, "exec", cond))

        suffixes, cidrs = [], []
        for n in t.get("network") or []:
            for d in n.get("domains") or []:
                s = dns_suffix(d)
                if s and s not in suffixes:
                    suffixes.append(s)
                elif IPV4.match(d.strip()):
                    cidrs.append(d.strip() + "/32")
        for o in t.get("other_artifacts") or []:
            if o.get("type") == "IP":
                cidrs.append(o["value"] + "/32")
        # A suffix already covered by a shorter one adds nothing.
        suffixes = [s for s in suffixes if not any(s != o and s.endswith("." + o) for o in suffixes)]
        if suffixes:
            rules.append(rule(f"{base}{K_DNS:02d}", f"{vendor} {what} service contacted (DNS name)",
                              category, vendor, severity, technique, "high", [src], "flow",
                              {"dns_suffixes": suffixes}))
        if cidrs:
            rules.append(rule(f"{base}{K_CIDR:02d}", f"{vendor} infrastructure address contacted",
                              category, vendor, severity, technique, "medium", [src], "flow",
                              {"cidrs": sorted(set(cidrs))}))
        for table, kind in ((RMM_PORTS, K_PORTS), (RMM_PORTS_LOW, K_PORTS_LOW)):
            if name in table:
                ports, pconf, psrc = table[name]
                for proto in ("tcp", "udp"):
                    pp = [p for p, pr in ports if pr == proto]
                    if not pp:
                        continue
                    kid = kind if proto == "tcp" else kind + 10
                    rules.append(rule(f"{base}{kid:02d}", f"{vendor} {proto.upper()} port contacted",
                                      category, vendor, "low" if pconf == "low" else severity,
                                      technique, pconf, [psrc], "flow",
                                      {"protocols": [proto], "direction": "outbound",
                                       "ports": [int(p) if "-" not in p else p for p in pp]}))

        if name == "TeamViewer":
            rules.append(rule(f"{base}{K_SESSION:02d}", "TeamViewer incoming remote session started",
                              category, vendor, "high", technique, "high", [SIGMA_TV], "exec",
                              {"names": ["TeamViewer_Desktop"],
                               "argv_sequence": ["--IPCport", "5939", "--Module", "1"]},
                              comment="SigmaHQ 1f6b8cd4: TeamViewer_Service starts TeamViewer_Desktop "
                                      "--IPCport 5939 --Module 1 per incoming session."))
        if name == "RustDesk":
            rules.append(rule(f"{base}{K_SERVER:02d}", "RustDesk rendezvous/relay server (hbbs/hbbr) executed",
                              category, vendor, "medium", technique, "high",
                              ["rustdesk/rustdesk-server id-relay-set.md (server binaries hbbs, hbbr)"], "exec",
                              {"names": ["hbbs", "hbbr"]}))
        if name == "NetBird":
            rules.append(rule(f"{base}{K_NETIF:02d}", "NetBird WireGuard interface wt0 present",
                              category, vendor, "low", technique, "medium", [src], "netif",
                              {"names": ["wt0"]}))
    rules += gen_linux_pkg()
    header = [
        "rules/rmm.yaml - remote access (RMM, remote desktop, remote shell) and tunnel tools.",
        "",
        "GENERATED by tools/gen_rules.py from the indicator data; edit the generator and re-run it.",
        "Derived in part from LOLRMM (https://github.com/magicsword-io/LOLRMM, snapshot 3c75cf0),",
        "Copyright the LOLRMM contributors, licensed under the Apache License 2.0: see",
        "rules/LICENSE-LOLRMM and rules/NOTICE. Changes: Windows-only artifacts dropped, Linux process",
        "names and ports added from vendor sources, domains turned into DNS suffixes.",
        "Format: rules/README.md.",
    ]
    return emit_rules(out_dir / "rmm.yaml", header, rules)


# Consumer VPN clients by what their Linux packages install and the interfaces they create.
# (number, vendor, match kind, severity, confidence, title, condition, sources, comment)
NORD = "NordSecurity/nordvpn-linux@809bdf7abbdb24eca7249182073b6608344eb488"
MULLVAD = "mullvad/mullvadvpn-app@9380a8076bc0511937477989a80ebca89cb334d9"
CONSUMER_VPN = [
    (8, "NordVPN", "exec", "medium", "high", "NordVPN client (daemon, CLI or helper) executed",
     {"names": ["nordvpnd", "nordvpn", "norduserd", "nordfileshare"],
      "paths": ["/usr/sbin/nordvpnd", "/usr/bin/nordvpn"], "path_prefixes": ["/usr/lib/nordvpn/"]},
     [f"{NORD} ci/nfpm/template.yaml (/usr/sbin/nordvpnd, /usr/bin/nordvpn, /usr/lib/nordvpn/"
      "norduserd, nordfileshare, openvpn; units nordvpnd.service, nordvpnd.socket)",
      "NordSecurity/nordvpn-linux@0a940a65f8d9215d49631f20935e7799f7dc5bab contrib/systemd/system/"
      "nordvpnd.service (ExecStart=/usr/sbin/nordvpnd)"], None),
    (9, "NordVPN", "netif", "medium", "high", "NordVPN tunnel interface (nordlynx / nordtun) present",
     {"names": ["nordlynx", "nordtun"]},
     [f"{NORD} daemon/vpn/nordlynx/nordlynx.go (InterfaceName = \"nordlynx\")",
      f"{NORD} daemon/vpn/openvpn/config.go (InterfaceName = \"nordtun\")"], None),
    (10, "ExpressVPN", "exec", "medium", "medium", "ExpressVPN client (daemon or CLI) executed",
     {"names": ["expressvpnd", "expressvpn"]},
     ["NixOS/nixpkgs@05924f714f31ff83bd10ed1710638688999c3725 pkgs/applications/networking/"
      "expressvpn/default.nix (ExpressVPN's deb: usr/ holds bin/expressvpn and the daemon expressvpnd)"],
     "Install paths are not in a public packaging file: names only."),
    (11, "Surfshark", "exec", "medium", "medium", "Surfshark VPN CLI (legacy Linux client) executed",
     {"names": ["surfshark-vpn"]},
     ["usdogu/surfshark-installer@3e09ebabd2cebe6a24a1fa7f438a80853a02bdbb surfshark_installer.sh "
      "(Surfshark's surfshark-vpn deb installs usr/bin/surfshark-vpn)"],
     "The current Surfshark GUI package's file list was not available: not covered."),
    (12, "Proton VPN", "exec", "medium", "high", "Proton VPN app (protonvpn-app) executed",
     {"script_names": ["protonvpn-app"]},
     ["ProtonVPN/proton-vpn-gtk-app@037f97e7e8dc09ed190e400e07162f28e9157daf setup.py "
      "(console_scripts protonvpn-app=proton.vpn.app.gtk.__main__:main)"],
     "A python console script: the exe is python3, the script is matched."),
    (13, "Proton VPN", "netif", "medium", "high",
     "Proton VPN interface (proton0 or its kill-switch interfaces) present",
     {"names": ["proton0", "pvpnksintrf0", "pvpnksintrf1", "pvpnrouteintrf0", "pvpnrouteintrf1",
                "ipv6leakintrf0", "ipv6leakintrf1"]},
     ["ProtonVPN/python-proton-vpn-network-manager-wireguard@061f0de5f7571a1e9f41aa6a758f0e2ebeef7ea3 "
      "proton/vpn/backend/linux/networkmanager/protocol/wireguard/wireguard.py (VIRTUAL_DEVICE_NAME "
      "= \"proton0\")",
      "ProtonVPN/python-proton-vpn-killswitch-network-manager@08b428e574db83fae0ce25a0e11bc291aaa1c783 "
      "proton/vpn/killswitch/backend/linux/networkmanager/killswitch_connection_handler.py "
      "(pvpnksintrf0/1, pvpnrouteintrf0/1, ipv6leakintrf0/1)"], None),
    (14, "Mullvad", "exec", "medium", "high", "Mullvad VPN client (daemon, CLI or app) executed",
     {"names": ["mullvad-daemon", "mullvad", "mullvad-exclude", "mullvad-gui", "mullvad-setup",
                "mullvad-problem-report"],
      "paths": ["/usr/bin/mullvad-daemon", "/usr/bin/mullvad", "/usr/bin/mullvad-exclude"],
      "path_prefixes": ["/opt/Mullvad VPN/"]},
     [f"{MULLVAD} desktop/packages/mullvad-vpn/tasks/distribution.cjs (/usr/bin/mullvad, "
      "mullvad-daemon, mullvad-exclude, mullvad-problem-report; mullvad-setup in resources; mullvad-gui)",
      f"{MULLVAD} dist-assets/linux/mullvad-daemon.service, before-install.sh (/opt/Mullvad VPN/"
      "resources/, /opt/Mullvad VPN/mullvad-gui)"], None),
    (15, "Mullvad", "netif", "medium", "high", "Mullvad WireGuard interface wg0-mullvad present",
     {"names": ["wg0-mullvad"]},
     [f"{MULLVAD} talpid-wireguard/src/config.rs (MULLVAD_INTERFACE_NAME = \"wg0-mullvad\")"], None),
    (16, "Private Internet Access", "exec", "medium", "high",
     "Private Internet Access client (daemon, client or piactl) executed",
     {"names": ["pia-daemon", "pia-client", "piactl", "pia-unbound"], "path_prefixes": ["/opt/piavpn/"]},
     ["pia-foss/desktop@1006bdd3b9ff023b72d02ab8ddc48ade08008bbe extras/installer/linux/"
      "linux_installer.sh (installDir /opt/${brandCode}vpn, ${brandCode}-daemon, ${brandCode}-client, "
      "${brandCode}ctl, pia-unbound; brand code pia)",
      "pia-foss/desktop@2fa471f7ae8b39e89a94f914e866050412b7c2ec extras/installer/linux/installfiles/"
      "piavpn.service"], None),
    (17, "Private Internet Access", "netif", "medium", "high",
     "Private Internet Access WireGuard interface (wgpia*) present",
     {"prefixes": ["wgpia"]},
     ["pia-foss/desktop@1006bdd3b9ff023b72d02ab8ddc48ade08008bbe extras/installer/linux/"
      "linux_installer.sh (wgIfPrefix=\"wg${brandCode}\", e.g. wgpia)"], None),
    (18, "Windscribe", "exec", "medium", "high", "Windscribe client (app, CLI, helper or tunnel) executed",
     {"names": ["Windscribe", "windscribe-cli", "windscribectrld", "windscribewstunnel",
                "windscribeopenvpn", "windscribeamneziawg"],
      "path_prefixes": ["/opt/windscribe/", "/usr/local/windscribe/"]},
     ["NixOS/nixpkgs@0d1eda764b28541e8496f8d9df1db623ae3b6ae1 pkgs/by-name/wi/windscribe/package.nix "
      "(WS_LINUX_INSTALL_DIR /opt/windscribe: Windscribe, windscribe-cli, helper, windscribectrld, "
      "windscribeamneziawg, windscribewstunnel, windscribeopenvpn, scripts/)",
      "Windscribe/Desktop-App@25200384207e7bf41a2b971aa0fdc2ac40c91747 installer/linux/gui/"
      "arch_package/PKGBUILD (/opt/windscribe/)",
      "Windscribe/Desktop-App@58491f026c57ce2320edfcf910d6754b40008887 installer/linux/debian_package/"
      "etc/systemd/system/windscribe-helper.service (older layout: /usr/local/windscribe/helper)"], None),
    (19, "Windscribe", "netif", "medium", "high", "Windscribe WireGuard interface utun420 present",
     {"names": ["utun420"]},
     ["Windscribe/Desktop-App@e5bbaf51ef2444bd13f387389c46b8ad80fc861e src/helper/linux/wireguard/"
      "wireguardcontroller.h (kDeviceName = \"utun420\"; its OpenVPN tunnel is tun0, GW-VPN-0007)"],
     None),
    (20, "ExpressVPN", "exec", "medium", "high",
     "ExpressVPN 4 client (daemon, app or expressvpnctl) executed",
     {"names": ["expressvpn-daemon", "expressvpn-client", "expressvpnctl"],
      "path_prefixes": ["/opt/expressvpn/"]},
     ["NixOS/nixpkgs@021b32091db53b086bbac823995503e8d4790a63 pkgs/by-name/ex/expressvpn/package.nix "
      "(expressvpn-linux-universal-4.0.1.9292.run installs /opt/expressvpn/{bin,lib,plugins,qml,share}; "
      "bin/expressvpn-daemon, bin/expressvpn-client, bin/expressvpnctl)"], None),
    (21, "Surfshark", "exec", "medium", "medium", "Surfshark VPN app (GUI client) executed",
     {"names": ["surfshark"], "path_prefixes": ["/opt/Surfshark/"]},
     ["https://aur.archlinux.org/packages/surfshark-client PKGBUILD (pkgver 1.7.3.2256 unpacks "
      "Surfshark's surfshark_1.7.3-2256_amd64.deb as is: /opt/Surfshark/ holding the surfshark "
      "executable and resources/dist/resources/surfsharkd.js)"],
     None),
]


# ---- VPN ----------------------------------------------------------------------------------------
def gen_vpn(ind, out_dir):
    data = json.loads((ind / "vpn.json").read_text())
    a = data["astrill_vpn_client_artifacts"]["linux"]
    asrc = [s for s in a["sources"]]
    ips = [i for i in data["published_network_indicators"] if i.get("relevance") != "low for IT-worker detection"]
    rules = [
        rule("GW-VPN-0001", "Astrill VPN client executed", "vpn", "Astrill", "medium", "T1090", "high", asrc,
             "exec", {"names": ["astrill"], "path_prefixes": ["/usr/local/Astrill/", "/opt/astrill/"]},
             comment="Astrill's Linux GUI/daemon; /opt/astrill is the AUR relocation."),
        rule("GW-VPN-0002", "Astrill VPN started at login (astrill /autostart)", "vpn", "Astrill",
             "high", "T1090", "high", asrc, "exec",
             {"names": ["astrill"], "argv_sequence": ["/autostart"]}),
        rule("GW-VPN-0003", "Astrill VPN reconnect", "vpn", "Astrill", "high", "T1090", "high", asrc,
             "exec", {"names": ["astrill"], "argv_sequence": ["/reconnect"]}),
        rule("GW-VPN-0004", "Astrill VPN protocol helper executed (asproxy/asovpnc/aswgvpnc/openweb)",
             "vpn", "Astrill", "high", "T1572", "medium", asrc, "exec",
             {"names": ["asproxy", ".asproxy-real", "asovpnc", "aswgvpnc", "openweb"]}),
        rule("GW-VPN-0005", "Astrill download or web service contacted", "vpn", "Astrill", "medium", "T1090",
             "medium", asrc, "flow",
             {"dns_suffixes": ["astrill.com", "astrilldownloads.com", "astrill4u.com"]}),
        rule("GW-VPN-0006", "Connection to a published Astrill VPN exit used by DPRK IT workers", "vpn",
             "Astrill", "high", "T1090", "medium", sorted({i["source"] for i in ips if i["source"].startswith("http")}), "flow",
             {"cidrs": [i["value"] + "/32" for i in ips], "direction": "any"},
             comment="Exit IPs rotate and are shared by many customers: an enrichment hint, not a verdict."),
        rule("GW-VPN-0007", "Tunnel interface tun0 present (Astrill and OpenVPN-style clients)", "vpn",
             "tunnel", "low", "T1572", "low", asrc, "netif", {"names": ["tun0"]},
             comment="tun0 is any OpenVPN-style tunnel: low confidence alone, it adds up with the rest."),
    ]
    rules += [rule(f"GW-VPN-{num:04d}", title, "vpn", vendor, sev, "T1090" if kind == "exec" else "T1572",
                   conf, sources, kind, cond, comment)
              for num, vendor, kind, sev, conf, title, cond, sources, comment in CONSUMER_VPN]
    header = [
        "rules/vpn.yaml - VPN clients (Astrill, named in DPRK IT-worker reporting; NordVPN, ExpressVPN,",
        "Surfshark, Proton VPN, Mullvad, Private Internet Access, Windscribe by their Linux packages) and",
        "tunnel interfaces.",
        "",
        "GENERATED by tools/gen_rules.py from the indicator data; edit the generator and re-run it.",
        "Format: rules/README.md.",
    ]
    return emit_rules(out_dir / "vpn.yaml", header, rules)


# The structural tell: composite boot keyboard + absolute pointer 0..32767 (+ storage / NIC).
STRUCT_SOURCES = [
    "pikvm/kvmd@f14596e823fce502811bc2f7e2bdbefaf1c0430a kvmd/plugins/hid/otg/__init__.py (mouse absolute=True default)",
    "tiny-pilot/tinypilot@79974fb87485204635b9dfa2a7758bcce32e2b0b debian-pkg/opt/tinypilot-privileged/init-usb-gadget (keyboard + absolute mouse 0..32767)",
    "LivingInSyn/ipkvm-watch@532186ca70c3b6224210046dfef974d6c708161b _device_output/jetkvm_lsusb (boot keyboard, absolute mouse, mass storage)",
    "LivingInSyn/ipkvm-watch@66a1c5cd37fa7342244fafe0bec85544e4b48fd3 _device_output/comet_lsusb (RNDIS, boot keyboard, absolute mouse, mass storage)",
]

# ---- IP-KVM -------------------------------------------------------------------------------------
def gen_ipkvm(ind, out_dir):
    data = json.loads((ind / "ipkvm.json").read_text())
    dev = {}
    for d in data["devices"]:
        key = "PiKVM HID" if d["category"] == "ip_kvm_hid_component" else d["name"].split(" ")[0]
        dev.setdefault(key, d)
    srcs = lambda key: dev[key]["sources"]
    kvm = dict(composite=True, boot_keyboard=True, absolute_pointer=True, absolute_max_at_least=32767)
    rules = []

    def r(num, title, vendor, sev, conf, sources, cond, comment=None):
        rules.append(rule(f"GW-KVM-{num:04d}", title, "ipkvm", vendor, sev, "T1200", conf, sources,
                          "device", cond, comment))

    r(1, "PiKVM USB gadget attached (default identity)", "PiKVM", "critical", "high", srcs("PiKVM")[:2],
      {"manufacturers": ["PiKVM"], "products": ["PiKVM Composite Device"]})
    r(2, "PiKVM HID (Pico) attached", "PiKVM", "critical", "high", dev["PiKVM HID"]["sources"],
      {"usb_ids": ["1209:eda2", "1209:eda3"]})
    r(3, "TinyPilot USB gadget attached (default identity)", "TinyPilot", "critical", "high", srcs("TinyPilot")[:2],
      {"usb_ids": ["1d6b:0104"], "manufacturers": ["tinypilot"]})
    r(4, "JetKVM USB gadget attached (default identity)", "JetKVM", "critical", "high", srcs("JetKVM")[:2] + srcs("JetKVM")[3:],
      {"manufacturers": ["JetKVM"], "products": ["USB Emulation Device", "JetKVM USB Emulation Device"]})
    r(5, "Sipeed NanoKVM USB gadget attached", "NanoKVM", "critical", "high", srcs("Sipeed")[:1],
      {"usb_ids": ["3346:1009"]})
    r(6, "Sipeed NanoKVM identity strings on a USB device", "NanoKVM", "critical", "high", srcs("Sipeed")[:1],
      {"manufacturers": ["sipeed"], "products": ["NanoKVM"]})
    r(7, "GL.iNet Comet (GLKVM) USB gadget attached", "GL.iNet", "critical", "high", srcs("GL.iNet")[:1] + srcs("GL.iNet")[3:],
      {"manufacturers": ["GLKVM", "Glinet"], "products": ["Composite KVM Device", "Glinet Composite Device"]})
    r(8, "GL.iNet vendor id 38eb on a composite keyboard + absolute pointer", "GL.iNet", "critical", "medium",
      srcs("GL.iNet")[:2], {"usb_ids": ["38eb:*"], "structure": kvm})
    r(9, "BliKVM USB gadget attached (default identity)", "BliKVM", "critical", "high", srcs("BliKVM")[:1],
      {"usb_ids": ["1d6b:0106"], "manufacturers": ["smart-kvm"]})
    r(10, "Linux USB gadget with the keymimepi serial (TinyPilot/BliKVM lineage)", "TinyPilot", "high",
      "high", srcs("TinyPilot")[:1] + srcs("BliKVM")[:1], {"serials": ["6b65796d696d6570690"]})
    r(11, "Linux composite gadget 1d6b:0104 with PiKVM's default serial CAFEBABE", "PiKVM", "high", "high",
      srcs("PiKVM")[:1] + ["LivingInSyn/ipkvm-watch _device_output/comet_lsusb"],
      {"usb_ids": ["1d6b:0104"], "serials": ["CAFEBABE"]})
    r(12, "Linux composite gadget 1d6b:0104 presenting a boot keyboard and an absolute pointer", "generic",
      "high", "medium", ["usbids/usbids@5e867ca4d3c3a41986391970475a4a66bee0995d usb.ids: 1d6b:0104 Multifunction Composite Gadget (any Linux USB gadget)",
                         srcs("PiKVM")[4], srcs("TinyPilot")[0]],
      {"usb_ids": ["1d6b:0104", "1d6b:0106"], "structure": kvm},
      comment="1d6b:0104 alone is any Linux USB gadget (a Pi in gadget mode): never matched alone.")
    r(13, "Composite USB device with a boot keyboard and an absolute pointer (0..32767): IP-KVM shape",
      "generic", "medium", "medium",
      STRUCT_SOURCES,
      {"structure": kvm},
      comment="The structural tell, any identity. QEMU's usb-tablet is absolute but has no keyboard.")
    r(14, "Composite keyboard + absolute pointer that also carries mass storage or a USB NIC", "generic",
      "high", "medium", STRUCT_SOURCES,
      {"structure": dict(kvm, storage_or_network=True)})
    r(15, "WCH CH9329 UART-to-HID chip (USB KVMs: Openterface, NanoKVM-USB)", "CH9329", "medium", "low",
      dev["WCH"]["sources"], {"usb_ids": ["1a86:e129"]})
    r(16, "IP-KVM EDID monitor name (HDMI capture presenting as a monitor)", "generic", "high", "high",
      [s for k in ("PiKVM", "TinyPilot", "Sipeed") for s in srcs(k) if "edid" in s.lower() or ".bin" in s],
      {"edid_monitor_names": ["PiKVM", "PiKVM V3", "PiKVM V4 Mini", "PiKVM V4 Plus", "TinyPilot", "NanoKVM"]})
    r(17, "HDMI-to-CSI bridge default EDID (JetKVM T749-fHD720, BliKVM Toshiba-H2C)", "generic", "medium",
      "medium", srcs("JetKVM")[2:3] + srcs("BliKVM")[1:2],
      {"edid_monitor_names": ["T749-fHD720", "Toshiba-H2C"]})
    r(18, "IP-KVM EDID manufacturer/product code", "generic", "high", "high",
      [srcs("PiKVM")[5], srcs("TinyPilot")[2], srcs("Sipeed")[2], srcs("JetKVM")[2]],
      {"edid_ids": ["LNX:7770", "LNX:7771", "LNX:7772", "LNX:7773", "TSB:9876", "SPD:3301", "TSB:8801"]})
    # KVM vendors and BMC virtual consoles: identity tables from usb.ids, lower severity (a KVM
    # switch on a desk or a BMC on a server is normal; on a laptop it is worth a look).
    ven = {d["name"].split(" ")[0]: d for d in data["devices"] if d["category"] in ("kvm_vendor", "bmc_virtual_kvm")}
    aten = ven["ATEN"]
    r(19, "ATEN KVM / virtual keyboard-mouse attached", "ATEN", "low", "medium", aten["sources"][:1],
      {"usb_ids": [f"{u['vendor_id']}:{u['product_id']}" for u in aten["usb"]]})
    rar = ven["Raritan"]
    r(20, "Raritan KVM dongle attached", "Raritan", "low", "medium", rar["sources"][:1],
      {"usb_ids": [f"{u['vendor_id']}:{u['product_id']}" for u in rar["usb"]]})
    avo = ven["Avocent"]
    r(21, "Avocent/Vertiv KVM or virtual media attached", "Avocent", "low", "medium", avo["sources"],
      {"usb_ids": ["0624:*"]})
    bmc = ven["BMC"]
    r(22, "Server BMC virtual keyboard/mouse/media attached (iLO, iDRAC, AMI)", "BMC", "low", "medium",
      bmc["sources"], {"usb_ids": [f"{u['vendor_id']}:{u['product_id']}" for u in bmc["usb"]]},
      comment="Normal on servers; on a laptop it means a remote console is attached.")
    header = [
        "rules/ipkvm.yaml - IP-KVM devices (PiKVM, TinyPilot, JetKVM, NanoKVM, BliKVM, GL.iNet Comet),",
        "KVM vendors and BMC virtual consoles, seen as USB devices and HDMI monitors (EDID).",
        "",
        "GENERATED by tools/gen_rules.py from the indicator data; edit the generator and re-run it.",
        "Every value is a default the owner can change (PiKVM can clone a real keyboard's ids), so the",
        "structural rules (composite boot keyboard + absolute pointer) back the identity rules up.",
        "Format: rules/README.md.",
    ]
    return emit_rules(out_dir / "ipkvm.yaml", header, rules)


# What the jiggler packages install (Debian 12 file lists): xdotool ships only /usr/bin/xdotool
# (GW-JIG-0001/0002 key on its jiggle argv: a bare xdotool is everyday automation); ydotool ships
# /usr/bin/ydotool, its daemon package /usr/bin/ydotoold; caffeine ships three python scripts.
# Arkane MouseJiggler has no Linux build (Windows: choco/winget packages, MouseJiggler.exe): under
# Wine it is an argv token (GW-JIG-0005).
CAFFEINE_DEB = deb12("caffeine", "2.9.12-1") + " (/usr/bin/caffeine, caffeine-indicator, caffeinate: python3 scripts)"
YDOTOOLD_DEB = deb12("ydotoold", "0.1.8-3+b2") + " (/usr/bin/ydotoold); ydotool 0.1.8-3+b2 (/usr/bin/ydotool)"
KEEP_PRESENCE_SETUP = ("carrot69/keep-presence@1c65b84525c290c2633992028073ade45081361e src/setup.py "
                       "(pip package installs the script keep-presence.py, no other entry point)")


# ---- jigglers -----------------------------------------------------------------------------------
def gen_jigglers(ind, out_dir):
    data = json.loads((ind / "jigglers.json").read_text())
    sw = {j["name"].split(" ")[0]: j for j in data["software_jigglers"]}
    rules = [
        rule("GW-JIG-0001", "xdotool tiny relative mouse move (jiggler loop)", "jiggler", "xdotool", "medium",
             "T1562", "medium", [sw["xdotool"]["source"]], "exec",
             {"names": ["xdotool"], "argv_sequence": ["mousemove_relative", "--", "1", "1"]}),
        rule("GW-JIG-0002", "xdotool tiny relative mouse move back (jiggler loop)", "jiggler", "xdotool",
             "medium", "T1562", "medium", [sw["xdotool"]["source"]], "exec",
             {"names": ["xdotool"], "argv_sequence": ["mousemove_relative", "--", "-1", "-1"]}),
        rule("GW-JIG-0003", "ydotool one-pixel mouse nudge (Wayland jiggler)", "jiggler", "ydotool", "medium",
             "T1562", "low", [sw["ydotool"]["source"]], "exec",
             {"names": ["ydotool"], "argv_sequence": ["mousemove", "-x", "1", "-y", "1"]}),
        rule("GW-JIG-0004", "keep-presence jiggler script run", "jiggler", "keep-presence", "medium", "T1562",
             "high", [sw["keep-presence"]["source"], KEEP_PRESENCE_SETUP], "exec",
             {"script_names": ["keep-presence.py", "keep-presence"]}),
        rule("GW-JIG-0005", "Mouse Jiggler (Arkane) run under Wine or a compatibility layer", "jiggler",
             "Mouse Jiggler", "medium", "T1562", "medium", [sw["Mouse"]["source"]], "exec",
             {"script_names": ["MouseJiggler.exe", "MouseJiggle.exe"]}),
        rule("GW-JIG-0006", "caffeine-ng sleep inhibitor (no input injection)", "jiggler", "caffeine", "info",
             "T1562", "medium", [sw["caffeine-ng"]["source"], CAFFEINE_DEB], "exec",
             {"names": ["caffeine", "caffeine-indicator"],
              "script_names": ["caffeine", "caffeine-indicator", "caffeinate"]},
             comment="Only keeps the screen awake: info, weight 0 in the score (rules/README.md). "
                     "Debian's caffeine programs are python scripts: matched as scripts."),
        rule("GW-JIG-0007", "ydotoold daemon started (uinput input injection for ydotool)", "jiggler",
             "ydotool", "low", "T1562", "medium", [YDOTOOLD_DEB], "exec",
             {"names": ["ydotoold"], "paths": ["/usr/bin/ydotoold"]},
             comment="ydotool needs this daemon to inject input on Wayland; alone it is a weak sign."),
    ]
    header = [
        "rules/jigglers.yaml - mouse jigglers: software that fakes presence with tiny input moves.",
        "",
        "GENERATED by tools/gen_rules.py from the indicator data; edit the generator and re-run it.",
        "Hardware jigglers have no documented VID:PID (DIY firmware clones real mice), and the IP-KVMs'",
        "built-in jigglers come with the KVM's own identity (rules/ipkvm.yaml); both are caught by",
        "input cadence (issue #7), not by identity. Format: rules/README.md.",
    ]
    return emit_rules(out_dir / "jigglers.yaml", header, rules)


def match_summary(kind, cond):
    parts = []
    for k, v in cond.items():
        if isinstance(v, dict):
            v = ", ".join(f"{k2}={str(v2).lower() if isinstance(v2, bool) else v2}" for k2, v2 in v.items())
        elif isinstance(v, list):
            v = ", ".join(str(x) for x in v)
        parts.append(f"{k}: {v}")
    return f"{kind}: " + "; ".join(parts)


def cell(text, limit=None):
    text = str(text).replace("|", "\\|").replace("\n", " ")
    if limit and len(text) > limit:
        text = text[:limit - 1] + "…"
    return text


def write_index(out_dir, rules):
    """The rule table of rules/README.md, between its BEGIN/END RULE INDEX markers."""
    readme = out_dir / "README.md"
    if not readme.exists():
        return
    lines = ["", "| id | title | category | severity | ATT&CK | confidence | match | sources |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rules:
        kind, cond = r["match"]
        lines.append("| " + " | ".join([
            r["id"], cell(r["title"]), r["category"], r["severity"], r["technique"],
            r["confidence"], cell(match_summary(kind, cond), 160),
            cell("; ".join(r["sources"]))]) + " |")
    lines.append("")
    text = readme.read_text()
    begin, end = "<!-- BEGIN RULE INDEX -->", "<!-- END RULE INDEX -->"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(head + begin + "\n".join(lines) + end + tail)


def main():
    ind = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/indicators")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else Path(__file__).resolve().parents[1] / "rules")
    out.mkdir(exist_ok=True)
    made = {f: g(ind, out) for f, g in (("rmm", gen_rmm), ("vpn", gen_vpn), ("ipkvm", gen_ipkvm),
                                         ("jigglers", gen_jigglers))}
    write_index(out, [r for rules in made.values() for r in rules])
    print(" ".join(f"{k}.yaml: {len(v)} rules" for k, v in made.items()))


if __name__ == "__main__":
    main()
