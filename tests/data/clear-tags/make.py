#!/usr/bin/env python3
"""Makes the clear-tag captures of tests/tests/dataplane_pcap.rs (clear_tags_and_bypass_against_a_capture)
with Python's `cryptography`, independently of our Rust code: GCM-AES-XPN-256 frames with their
first VLAN tags left in the clear in front of the SecTAG and outside the ICV (AAD = DA | SA | SecTAG),
as Cisco's vlan-tags-in-clear and Nokia's clear-tag-mode send them.

  plain.pcap     what the host sends (and gets back): QinQ, 802.1Q, untagged, three tags, LLDP
  from-a.pcap    plain.pcap protected by site A (SCI 001de5e9aa39001a, AN 0, SSCI 2, PN 1..);
                 2 tags in the clear; LLDP (0x88cc, on the bypass list) passes as it is
  from-b.pcap    plain.pcap protected by site B (SCI 001de5e9b1bf0019, AN 1, SSCI 1, PN 1..)

Run: python3 tests/data/clear-tags/make.py (writes next to itself; the output is committed)."""

import os
import struct
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
SALT = bytes.fromhex("83c37bac7b6f6316098ff3d2")
CLEAR_TAGS = 2


def pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 0, i, len(fr), len(fr)))
            f.write(fr)


def tags_of(frame, most):
    n, at = 0, 12
    while n < most and frame[at : at + 2] in (b"\x81\x00", b"\x88\xa8"):
        n, at = n + 1, at + 4
    return n


def protect(frame, key, sci, an, ssci, pn):
    n = tags_of(frame, CLEAR_TAGS)
    addrs, tags, rest = frame[:12], frame[12 : 12 + 4 * n], frame[12 + 4 * n :]
    tci = 0x20 | 0x08 | 0x04 | an  # SC, E, C, AN
    sl = len(rest) if len(rest) < 48 else 0
    sectag = b"\x88\xe5" + bytes([tci, sl]) + struct.pack(">I", pn & 0xFFFFFFFF) + sci
    iv = bytes(a ^ b for a, b in zip(ssci + struct.pack(">Q", pn), SALT))
    sealed = AESGCM(key).encrypt(iv, rest, addrs + sectag)  # text then ICV
    return addrs + tags + sectag + sealed


def eth(dst, src, tags, ethertype, payload):
    f = bytes.fromhex(dst) + bytes.fromhex(src)
    for tpid, vid in tags:
        f += struct.pack(">HH", tpid, vid)
    return f + struct.pack(">H", ethertype) + payload


def main():
    a, b = "001de5e9aa39", "001de5e9b1bf"
    ip = bytes.fromhex("45000054") + bytes(range(80))
    plain = [
        eth(b, a, [(0x88A8, 100), (0x8100, 2)], 0x0800, ip),
        eth(b, a, [(0x8100, 3)], 0x0800, ip[:46]),
        eth(b, a, [], 0x0800, ip),
        eth(b, a, [(0x88A8, 100), (0x8100, 2), (0x8100, 4)], 0x0800, ip),
        eth("0180c200000e", a, [], 0x88CC, bytes.fromhex("020704") + bytes(40)),
    ]
    for name, key, sci, an, ssci in [
        ("from-a.pcap", b"\x11" * 32, bytes.fromhex("001de5e9aa39001a"), 0, bytes.fromhex("00000002")),
        ("from-b.pcap", b"\x22" * 32, bytes.fromhex("001de5e9b1bf0019"), 1, bytes.fromhex("00000001")),
    ]:
        out, pn = [], 1
        for f in plain:
            if f[12:14] == b"\x88\xcc":
                out.append(f)
            else:
                out.append(protect(f, key, sci, an, ssci, pn))
                pn += 1
        pcap(os.path.join(HERE, name), out)
    pcap(os.path.join(HERE, "plain.pcap"), plain)


if __name__ == "__main__":
    main()
