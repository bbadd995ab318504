#!/usr/bin/env python3
"""Record ARP frames carried by a VXLAN overlay, with the host they came from.

    vxlan_arp_watch.py IFACE LOG

Listens on IFACE (the underlay) for VXLAN packets (UDP port 4789) whose
inner frame is ARP, and appends one line per frame to LOG:

    arp <outer source IP> <sender MAC> <sender IP> <target IP> <op>

so that a test can tell through which host a guest's MAC was announced
(a gratuitous ARP has sender IP == target IP). Runs until killed.
"""
import socket
import struct
import sys

ETH_P_ALL = 0x0003


def main():
    iface, log = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ALL))
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
