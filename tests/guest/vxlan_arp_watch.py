#!/usr/bin/env python3
"""Record ARP frames carried by a VXLAN overlay, with the host they came from.

    vxlan_arp_watch.py IFACE LOG

Listens on IFACE (the underlay) for VXLAN packets (UDP port 4789) whose
inner frame is ARP, and appends one line per frame to LOG:

    arp <outer source IP> <sender MAC> <sender IP> <target IP> <op>

so that a test can tell through which host a guest's MAC was announced
(a gratuitous ARP has sender IP == target IP). Runs until killed.

The underlay also carries the guests' TCP streams (a Gbit/s and more): a
classic BPF filter lets the kernel hand over only ARP in VXLAN, else this
reader falls behind, the socket's buffer overflows and an ARP frame may
be among the packets dropped.
"""
import ctypes
import socket
import struct
import sys

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26

# IPv4 (no options), UDP to 4789, inner frame ARP; offsets in the frame
ARP_IN_VXLAN = [
    (0x28, 0, 0, 12),      # ldh [12]           outer ethertype
    (0x15, 0, 8, 0x0800),  # jeq IPv4, else drop
    (0x30, 0, 0, 14),      # ldb [14]           version and IHL
    (0x15, 0, 6, 0x45),    # jeq 0x45 (no options), else drop
    (0x30, 0, 0, 23),      # ldb [23]           protocol
    (0x15, 0, 4, 17),      # jeq UDP, else drop
    (0x28, 0, 0, 36),      # ldh [36]           UDP destination port
    (0x15, 0, 2, 4789),    # jeq VXLAN, else drop
    (0x28, 0, 0, 62),      # ldh [62]           inner ethertype
    (0x15, 1, 0, 0x0806),  # jeq ARP: accept
    (0x06, 0, 0, 0),       # drop: ret 0
    (0x06, 0, 0, 0xffff),  # accept: ret 65535
]


def attach_filter(s, prog):
    # struct sock_filter {u16 code; u8 jt, jf; u32 k;}: the jumps above
    # are relative to the next instruction, as classic BPF wants
    buf = ctypes.create_string_buffer(
        b"".join(struct.pack("HBBI", *ins) for ins in prog))
    fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
    s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    return buf  # the kernel copied it; kept alive anyway


def main():
    iface, log = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ALL))
    keep = attach_filter(s, ARP_IN_VXLAN)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((iface, 0))
    out = open(log, "a", buffering=1)
    out.write("started on %s\n" % iface)
    while True:
        pkt = s.recv(65535)
        if len(pkt) < 14 + 20 + 8 + 8 + 14 + 28:
            continue
        if struct.unpack("!H", pkt[12:14])[0] != 0x0800:
            continue
        ihl = (pkt[14] & 0x0F) * 4
        if pkt[14 + 9] != 17:
            continue
        src = socket.inet_ntoa(pkt[14 + 12:14 + 16])
        udp = 14 + ihl
        if struct.unpack("!H", pkt[udp + 2:udp + 4])[0] != 4789:
            continue
        inner = udp + 8 + 8
        if len(pkt) < inner + 14 + 28:
            continue
        if struct.unpack("!H", pkt[inner + 12:inner + 14])[0] != 0x0806:
            continue
        arp = inner + 14
        op = struct.unpack("!H", pkt[arp + 6:arp + 8])[0]
        sha = ":".join("%02x" % b for b in pkt[arp + 8:arp + 14])
        spa = socket.inet_ntoa(pkt[arp + 14:arp + 18])
        tpa = socket.inet_ntoa(pkt[arp + 24:arp + 28])
        out.write("arp %s %s %s %s %d\n" % (src, sha, spa, tpa, op))


if __name__ == "__main__":
    main()
