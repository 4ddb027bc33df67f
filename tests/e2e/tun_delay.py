"""A userspace delay line between this host and a network namespace, for the kernels without the
netem qdisc (this build host): a tun device here and one in the namespace, and every IP packet
read from one written to the other half the round trip later. TCP over it measures the delay as
its RTT, like over a long path. Prints "ready" once both ends are up; runs until killed.

usage: tun_delay.py NETNS RTT_MS HOST_IF NS_IF SUBNET
       (SUBNET "10.231.7": the host end gets .1/30, the namespace end .2/30)
"""
import ctypes
import fcntl
import heapq
import os
import select
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
CLONE_NEWNET = 0x40000000


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def setns(path):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns " + path)
    os.close(fd)


def main():
    ns, delay_ms, host_if, ns_if, net = sys.argv[1], float(sys.argv[2]), *sys.argv[3:6]
    delay = delay_ms / 2000.0  # each way
    host_fd = open_tun(host_if)
    subprocess.run(["ip", "addr", "add", f"{net}.1/30", "dev", host_if], check=True)
    subprocess.run(["ip", "link", "set", host_if, "up"], check=True)
    me = os.open("/proc/self/ns/net", os.O_RDONLY)
    setns(f"/run/netns/{ns}")
    ns_fd = open_tun(ns_if)
    subprocess.run(["ip", "addr", "add", f"{net}.2/30", "dev", ns_if], check=True)
    subprocess.run(["ip", "link", "set", ns_if, "up"], check=True)
    setns(f"/proc/self/fd/{me}")
    peer = {host_fd: ns_fd, ns_fd: host_fd}
    queue = []  # (due, seq, fd to write, packet)
    seq = 0
    print("ready", flush=True)
    while True:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else None
        ready, _, _ = select.select([host_fd, ns_fd], [], [], timeout)
        now = time.monotonic()
        for fd in ready:
            while True:
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                seq += 1
                heapq.heappush(queue, (now + delay, seq, peer[fd], pkt))
        while queue and queue[0][0] <= time.monotonic():
            _, _, fd, pkt = heapq.heappop(queue)
            try:
                os.write(fd, pkt)
            except OSError:
                pass


if __name__ == "__main__":
    main()
