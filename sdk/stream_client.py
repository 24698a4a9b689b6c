#!/usr/bin/env python3
"""A small client of embedcare's subscription stream, standard library only.

    python3 stream_client.py ws://127.0.0.1:3000/v2/events/subscribe?queue=pms --key ek_...
        [--tenant demo] [--count N]

It prints one JSON line per event ({eventId, eventType, receiptId, ...}),
acknowledges each one after printing it (store it durably first in a real
client, and deduplicate on eventId: delivery is at least once), pings every
two minutes, and ends on a close, printing its code (4401: bad credentials,
do not retry; 4409: the queue already has a client). With --count, it stops
after N events. A real client reconnects with exponential backoff and jitter.
"""

import argparse
import base64
import json
import os
import socket
import ssl
import struct
import sys
import time
import urllib.parse

PING_EVERY = 120


def connect(url, headers):
    u = urllib.parse.urlsplit(url)
    port = u.port or (443 if u.scheme == "wss" else 80)
    sock = socket.create_connection((u.hostname, port), timeout=PING_EVERY)
    if u.scheme == "wss":
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=u.hostname)
    key = base64.b64encode(os.urandom(16)).decode()
    path = u.path + ("?" + u.query if u.query else "")
    lines = [f"GET {path} HTTP/1.1", f"Host: {u.netloc}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        reply += chunk
    head, rest = reply.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n", 1)[0].decode()
    if " 101 " not in status + " ":
        raise ConnectionError(f"handshake refused: {status}")
    return sock, bytearray(rest)


def send(sock, opcode, payload=b""):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def send_frame(sock, frame_type, payload):
    send(sock, 0x1, json.dumps({"frameType": frame_type, "framePayload": payload}).encode())


def read_exact(sock, buf, n):
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    out = bytes(buf[:n])
    del buf[:n]
    return out


def read_message(sock, buf):
    """(opcode, payload) of the next message (fragments joined)."""
    data, first = b"", None
    while True:
        b0, b1 = read_exact(sock, buf, 2)
        opcode, n = b0 & 0x0F, b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", read_exact(sock, buf, 2))[0]
        elif n == 127:
            n = struct.unpack("!Q", read_exact(sock, buf, 8))[0]
        payload = read_exact(sock, buf, n)
        if opcode >= 0x8:
            return opcode, payload
        first = opcode if first is None else first
        data += payload
        if b0 & 0x80:
            return first, data


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url")
    p.add_argument("--key", required=True, help="the API key")
    p.add_argument("--tenant", help="X-Tenant-Key, for a key linked to several franchises")
    p.add_argument("--count", type=int, help="stop after this many events")
    args = p.parse_args()
    headers = {"Authorization": f"api-key {args.key}"}
    if args.tenant:
        headers["X-Tenant-Key"] = args.tenant
    sock, buf = connect(args.url, headers)
    seen, last_ping = 0, time.monotonic()
    while args.count is None or seen < args.count:
        if time.monotonic() - last_ping > PING_EVERY:
            send_frame(sock, "PING", {})
            last_ping = time.monotonic()
        try:
            opcode, payload = read_message(sock, buf)
        except socket.timeout:
            continue
        if opcode == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            print(json.dumps({"closed": code, "reason": payload[2:].decode(errors="replace")}), flush=True)
            return 0 if code in (1000, 1001) else 1
        if opcode == 0x9:
            send(sock, 0xA, payload)
            continue
        if opcode != 0x1:
            continue
        frame = json.loads(payload)
        if frame.get("frameType") == "EVENT":
            event = frame["framePayload"]
            print(json.dumps(event), flush=True)
            send_frame(sock, "ACK_EVENT", {"receiptId": event["receiptId"]})
            seen += 1
        elif frame.get("frameType") == "ERROR":
            print(json.dumps({"error": frame["framePayload"]}), file=sys.stderr, flush=True)
    send(sock, 0x8, struct.pack("!H", 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
