#!/usr/bin/env python3
"""Writes tests/data/sample-plain.pcap: the plaintext sample the demo protects and validates.
16 Ethernet frames between two hosts: IPv4/UDP of 64..1514 octets, one 802.1Q-tagged, one LACP."""
import struct, sys

def pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(fr), len(fr)))
            f.write(fr)

def ipv4_udp(total, seq):
    payload = bytes((seq + i) & 0xff for i in range(total - 14 - 28))
    udp = struct.pack("!HHHH", 40000 + seq, 5201, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq, 0, 64, 17, 0,
                     bytes([192, 0, 2, 1]), bytes([198, 51, 100, 1])) + udp
    return ip

A = bytes.fromhex("001de5e9b1bf")  # site B router
B = bytes.fromhex("001de5e9aa39")  # site A router
frames = []
for seq, size in enumerate([64, 128, 256, 512, 576, 1024, 1280, 1500, 1514, 64, 90, 300, 700, 1400]):
    frames.append(A + B + b"\x08\x00" + ipv4_udp(size, seq))
frames.append(A + B + b"\x81\x00\x00\x64\x08\x00" + ipv4_udp(200, 99))
lacp = bytes.fromhex("0180c2000002") + B + b"\x88\x09\x01\x01" + bytes(106)
frames.append(lacp)
pcap(sys.argv[1] if len(sys.argv) > 1 else "tests/data/sample-plain.pcap", frames)
