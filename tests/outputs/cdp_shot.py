#!/usr/bin/python3
"""Drives headless Chromium over the DevTools protocol (a minimal
WebSocket client, standard library only) for test_http_view:

  cdp_shot.py URL OUTDIR ACTION...

ACTION is shot:NAME (OUTDIR/NAME.png, and OUTDIR/NAME.json with the live
image's rectangle in screenshot pixels, the OFFLINE badge's display and
the number of offline rows in the table), sleep:SECONDS, waitfile:PATH
(until PATH exists) or eval:JS. Chromium's own --screenshot cannot be
used: the page never finishes loading (the MJPEG stream)."""
import base64, json, os, socket, struct, subprocess, sys, tempfile, time
import urllib.request


class WS:
    def __init__(self, url):
        assert url.startswith("ws://")
        hostport, path = url[5:].split("/", 1)
        host, port = hostport.split(":")
        self.s = socket.create_connection((host, int(port)), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.s.recv(1)
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.n = 0

    def _read(self, n):
        b = b""
        while len(b) < n:
            chunk = self.s.recv(n - len(b))
            if not chunk:
                raise EOFError
            b += chunk
        return b

    def send(self, obj):
        data = json.dumps(obj).encode()
        head = bytes([0x81])
        n = len(data)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.s.sendall(head + mask +
                       bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        msg = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            msg += self._read(n)
            if b0 & 0x80:
                return json.loads(msg)

    def call(self, method, **params):
        self.n += 1
        self.send({"id": self.n, "method": method, "params": params})
        while True:
            m = self.recv()
            if m.get("id") == self.n:
                if "error" in m:
                    raise RuntimeError(m["error"])
                return m["result"]


PROBE = """JSON.stringify((() => {
  const r = document.getElementById('live').getBoundingClientRect();
  const b = document.getElementById('badge');
  return {x: r.x, y: r.y, w: r.width, h: r.height,
          natural: document.getElementById('live').naturalWidth,
          dpr: window.devicePixelRatio,
          badge: getComputedStyle(b).display,
          offline_rows: document.querySelectorAll('#stats tr.offline').length};
})())"""


def main():
    url, outdir, actions = sys.argv[1], sys.argv[2], sys.argv[3:]
    profile = tempfile.mkdtemp(prefix="cn-chromium-")
    chrome = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--hide-scrollbars", "--window-size=900,700",
         "--force-device-scale-factor=1", "--remote-debugging-port=0",
         "--user-data-dir=" + profile, "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(600):
            if os.path.exists(port_file) and open(port_file).read().count("\n"):
                break
            time.sleep(0.1)
        port = open(port_file).read().split("\n")[0]
        targets = json.load(urllib.request.urlopen(
            f"http://127.0.0.1:{port}/json/list", timeout=30))
        page = [t for t in targets if t["type"] == "page"][0]
        ws = WS(page["webSocketDebuggerUrl"])
        ws.call("Page.enable")
        ws.call("Page.navigate", url=url)
        # The live image has a picture (a slow, sanitized camnet takes a
        # while), then a moment for the next parts to flow.
        for _ in range(600):
            r = ws.call("Runtime.evaluate", expression=
                        "(document.getElementById('live')||{}).naturalWidth||0")
            if r["result"].get("value"):
                break
            time.sleep(0.1)
        time.sleep(1)
        for a in actions:
            kind, _, arg = a.partition(":")
            if kind == "sleep":
                time.sleep(float(arg))
            elif kind == "waitfile":
                while not os.path.exists(arg):
                    time.sleep(0.1)
            elif kind == "eval":
                ws.call("Runtime.evaluate", expression=arg)
            elif kind == "shot":
                png = ws.call("Page.captureScreenshot", format="png")["data"]
                probe = ws.call("Runtime.evaluate", expression=PROBE)
                with open(os.path.join(outdir, arg + ".png"), "wb") as f:
                    f.write(base64.b64decode(png))
                with open(os.path.join(outdir, arg + ".json"), "w") as f:
                    f.write(probe["result"]["value"] + "\n")
    finally:
        chrome.terminate()
        chrome.wait(timeout=30)
        subprocess.run(["rm", "-rf", profile])


main()
