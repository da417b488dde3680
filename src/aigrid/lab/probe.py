"""Traffic probes run on lab hosts (sent over SSH to their python3): a bulk TCP transfer to
measure shaping, and UDP datagrams whose traffic class the receiver reads to see DSCP marks.

    python3 - receive-tcp PORT SECONDS | send-tcp ADDRESS PORT SECONDS
    python3 - receive-udp PORT | send-udp ADDRESS PORT
"""

import json
import socket
import sys
import time

IPV6_RECVTCLASS = getattr(socket, "IPV6_RECVTCLASS", 66)
IPV6_TCLASS = getattr(socket, "IPV6_TCLASS", 67)


def receive_tcp(port: int, seconds: float) -> dict[str, object]:
    server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("::", port))
    server.listen(1)
    server.settimeout(seconds + 20)
    conn, _ = server.accept()
    total, first, last = 0, None, None
    conn.settimeout(5)
    while True:
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        now = time.monotonic()
        first = first or now
        last = now
        total += len(chunk)
    elapsed = (last - first) if first and last else 0.0
    return {"bytes": total, "seconds": elapsed, "mbps": total * 8 / elapsed / 1e6 if elapsed else 0.0}


def send_tcp(address: str, port: int, seconds: float) -> dict[str, object]:
    client = socket.create_connection((address, port), timeout=10)
    payload = b"\0" * 65536
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end:
        sent += client.send(payload)
    client.close()
    return {"bytes": sent}


def receive_udp(port: int) -> dict[str, object]:
    server = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    server.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVTCLASS, 1)
    server.bind(("::", port))
    server.settimeout(20)
    classes = []
    for _ in range(5):
        _, ancillary, _, _ = server.recvmsg(2048, socket.CMSG_SPACE(4))
        for level, kind, data in ancillary:
            if level == socket.IPPROTO_IPV6 and kind == IPV6_TCLASS:
                classes.append(int.from_bytes(data[:4], sys.byteorder))
    return {"tclass": classes, "dscp": sorted({c >> 2 for c in classes})}


def send_udp(address: str, port: int) -> dict[str, object]:
    client = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    for _ in range(40):
        client.sendto(b"aigrid-probe", (address, port))
        time.sleep(0.05)
    return {"sent": 40}


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    result = {
        "receive-tcp": lambda: receive_tcp(int(args[0]), float(args[1])),
        "send-tcp": lambda: send_tcp(args[0], int(args[1]), float(args[2])),
        "receive-udp": lambda: receive_udp(int(args[0])),
        "send-udp": lambda: send_udp(args[0], int(args[1])),
    }[mode]()
    print(json.dumps(result))
