#!/usr/bin/env python3
"""Creates benchmark content through Masthead's HTTP API, as editors would (used by scripts/bench).

    bench_content.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD N [CLIENTS]

Logs in, makes an admin API key, uploads 10 PNG photos (drawn here, no imaging library needed),
creates 8 tags, then N articles: each is created as a draft (~1,200 characters of body in
paragraphs and a heading, two tags, a hero image, every fifth one an image block), edited once
and published, so it has three revisions like a real story. CLIENTS (default 2) editors work at
once. Prints one JSON line: {"slugs": [...], "tags": [...], "images": [...], "seconds": s}.
Only the standard library is used.
"""

import http.client
import json
import struct
import sys
import threading
import time
import urllib.parse
import zlib

WORDS = (
    "harbour council ferry bridge festival school lighthouse seal budget storm market quay "
    "island volunteers report weather commuters library station museum tide repairs engineers "
    "residents mayor ward planning hospital rail timetable fishermen catch quota harbourmaster"
).split()


class Client:
    """One keep-alive HTTP connection with JSON helpers."""

    def __init__(self, base, token=None):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.token = token

    def call(self, method, path, body=None, headers=None, raw=None, content_type=None):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        elif content_type:
            h["Content-Type"] = content_type
        for attempt in range(3):
            try:
                self.conn.request(method, path, body=data, headers=h)
                res = self.conn.getresponse()
                payload = res.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        if res.status >= 400:
            raise RuntimeError(f"{method} {path}: {res.status} {payload[:300]!r}")
        return res, (json.loads(payload) if payload else None)


def png(width, height, seed):
    """A gradient PNG with a sun disc: RGB, 8 bits, stored with zlib."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            dx, dy = x - width * (0.3 + seed * 0.05), y - height * 0.35
            sun = 70 if dx * dx + dy * dy < (height * 0.12) ** 2 else 0
            row += bytes((min(255, 40 + 180 * (height - y) // height + sun),
                          min(255, 80 + (x * 90) // width + sun // 2),
                          (120 + seed * 13 + (y * 60) // height) % 256))
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + chunk(b"IEND", b""))


def multipart(fields, file_bytes):
    boundary = "masthead-bench-boundary"
    out = bytearray()
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").encode()
    out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    out += file_bytes + f"\r\n--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def sentence(i, k, n):
    return " ".join(WORDS[(i * 7 + k * 3 + j) % len(WORDS)] for j in range(n)).capitalize() + "."


def article(i, tags, images):
    paragraphs = []
    text_len = 0
    k = 0
    while text_len < 1150:
        p = " ".join(sentence(i, k + s, 9 + (k + s) % 5) for s in range(3))
        paragraphs.append(p)
        text_len += len(p)
        k += 3
    body = [{"type": "paragraph", "text": p} for p in paragraphs[:2]]
    body.append({"type": "heading", "level": 2, "text": "What happens next"})
    if i % 5 == 0:
        body.append({"type": "image", "image_id": images[(i + 3) % len(images)]})
    body += [{"type": "paragraph", "text": p} for p in paragraphs[2:]]
    return {
        "headline": f"{sentence(i, 0, 7)[:-1]} ({i})",
        "standfirst": sentence(i, 1, 18),
        "body": body,
        "tags": [tags[i % len(tags)], tags[(i * 3 + 1) % len(tags)] if (i * 3 + 1) % len(tags) != i % len(tags)
                 else tags[(i + 1) % len(tags)]],
        "hero": {"image_id": images[i % len(images)]},
    }


def main():
    base, email, password, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    clients = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    started = time.time()
    anon = Client(base)
    _, login = anon.call("POST", "/api/v1/auth/login", {"email": email, "password": password})
    admin = Client(base, login["access_token"])
    _, key = admin.call("POST", "/api/v1/admin/api-keys", {"name": "Benchmark editors", "role": "admin"})
    token = key["secret"]
    admin = Client(base, token)

    images = []
    for s in range(10):
        data, ctype = multipart({"caption": f"Harbour scene number {s}", "credit": "Bench Photographer/Masthead Wire",
                                 "source": "Masthead Wire", "alt_text": f"A harbour at dusk, view {s}"},
                                png(1200, 800, s))
        _, img = admin.call("POST", "/api/v1/admin/images", raw=data, content_type=ctype)
        images.append(img["id"])
    tags = []
    for name in ("Transport", "Politics", "Weather", "Culture", "Business", "Education", "Health", "Sport"):
        _, tag = admin.call("POST", "/api/v1/admin/tags", {"name": name, "description": f"News about {name.lower()}."})
        tags.append(tag["slug"])

    slugs = [None] * n
    errors = []
    next_i = iter(range(n))
    lock = threading.Lock()

    def editor():
        c = Client(base, token)
        while True:
            with lock:
                i = next(next_i, None)
            if i is None or errors:
                return
            try:
                res, a = c.call("POST", "/api/v1/admin/articles", article(i, tags, images))
                etag = res.getheader("ETag")
                res, a = c.call("PATCH", f"/api/v1/admin/articles/{a['id']}",
                                {"standfirst": sentence(i, 2, 20)}, headers={"If-Match": etag})
                etag = res.getheader("ETag")
                c.call("POST", f"/api/v1/admin/articles/{a['id']}/publish", headers={"If-Match": etag})
                slugs[i] = a["slug"]
            except Exception as e:  # noqa: BLE001 - reported and fatal
                errors.append(f"article {i}: {e}")
                return

    threads = [threading.Thread(target=editor) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print("\n".join(errors[:5]), file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"slugs": slugs, "tags": tags, "images": images, "seconds": round(time.time() - started, 1)}))


if __name__ == "__main__":
    main()
