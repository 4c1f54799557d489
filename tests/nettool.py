#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""nettool.py - the sockets and crafted packets of the netns tests.

    serve-tcp ADDR PORT              accept and echo until killed
    tcp SRC DST PORT [TIMEOUT]       connect from SRC, send, read the echo;
                                     exit 0 on success, 1 on failure
    udp SRC SPORT DST DPORT [N]      send N datagrams (default 1)
    udp-flows SRC SPORT0 N DST DPORT one datagram from each of N source
                                     ports SPORT0, SPORT0 + 1, ...
    udp-echo SRC DST PORT            send one datagram, wait 2 s for an
                                     answer; exit 0 if one came
    serve-udp ADDR PORT              answer every datagram until killed
    sink-udp ADDR PORT               take every datagram, answer none (no
                                     port-unreachable errors either)
    tcp-ack SRC SPORT DST DPORT      one crafted IPv4 TCP ACK (raw socket)
                                     with no connection behind it

Addresses are IPv4 or IPv6 literals; a source of "-" lets the kernel pick.
Only the tests' own namespaces and 198.18.0.0/15 / 2001:db8::/32 are used.
"""
import socket
import struct
import sys


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def v6only(s):
    """An IPv6 server beside an IPv4 one on the same port: "::" alone
    would take the IPv4 port too."""
    if s.family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)


def serve_tcp(addr, port):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    v6only(s)
    s.bind((addr, int(port)))
    s.listen(64)
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(5)
            data = c.recv(64)
            if data:
                c.sendall(data)
        except OSError:
            pass
        finally:
            c.close()


def tcp(src, dst, port, timeout="2"):
    s = socket.socket(family(dst), socket.SOCK_STREAM)
    s.settimeout(float(timeout))
    try:
        if src != "-":
            s.bind((src, 0))
        s.connect((dst, int(port)))
        s.sendall(b"portwarden")
        data = s.recv(64)
        return 0 if data == b"portwarden" else 1
    except OSError:
        return 1
    finally:
        s.close()


def udp(src, sport, dst, dport, n="1"):
    s = socket.socket(family(dst), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, int(sport)))
    for _ in range(int(n)):
        s.sendto(b"x", (dst, int(dport)))
    s.close()
    return 0


def udp_flows(src, sport0, n, dst, dport):
    for sport in range(int(sport0), int(sport0) + int(n)):
        udp(src, sport, dst, dport)
    return 0


def udp_echo(src, dst, port):
    s = socket.socket(family(dst), socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        if src != "-":
            s.bind((src, 0))
        s.sendto(b"portwarden", (dst, int(port)))
        data, _ = s.recvfrom(64)
        return 0 if data == b"portwarden" else 1
    except OSError:
        return 1
    finally:
        s.close()


def serve_udp(addr, port):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    v6only(s)
    s.bind((addr, int(port)))
    while True:
        data, peer = s.recvfrom(64)
        s.sendto(data, peer)


def sink_udp(addr, port):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    # "udp" may send from this very port while the sink listens
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    v6only(s)
    s.bind((addr, int(port)))
    while True:
        s.recvfrom(64)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_ack(src, sport, dst, dport):
    """An IPv4 TCP segment with only ACK set, as a stray "reply" would be."""
    saddr, daddr = socket.inet_aton(src), socket.inet_aton(dst)
    tcph = struct.pack("!HHIIBBHHH", int(sport), int(dport), 1000, 2000,
                       5 << 4, 0x10, 64240, 0, 0)
    pseudo = saddr + daddr + struct.pack("!BBH", 0, socket.IPPROTO_TCP,
                                         len(tcph))
    tcph = tcph[:16] + struct.pack("!H", checksum(pseudo + tcph)) + tcph[18:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcph), 1, 0, 64,
                      socket.IPPROTO_TCP, 0, saddr, daddr)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(iph + tcph, (dst, 0))
    s.close()
    return 0


COMMANDS = {
    "serve-tcp": serve_tcp,
    "tcp": tcp,
    "udp": udp,
    "udp-flows": udp_flows,
    "udp-echo": udp_echo,
    "serve-udp": serve_udp,
    "sink-udp": sink_udp,
    "tcp-ack": tcp_ack,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write(__doc__)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
