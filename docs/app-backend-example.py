"""An app's backend for kefu's app channel (docs/channels.md), with Python's standard library only.

1. The app, once its user is logged in, asks this backend for a short-lived HS256 JWT and starts
   (or resumes) the conversation with it:  POST {KEFU}/v1/desks/{desk}/conversations
   {"channel": "app", "customer": {"jwt": ..., "link_token": <the web token, optional>}}
2. kefu pushes agents' replies to /kefu-webhook; this backend checks the signature and the
   timestamp, then notifies the user's phone.

Run: KEFU_APP_SECRET=... python3 docs/app-backend-example.py   (listens on 127.0.0.1:9000)
"""
import base64, hashlib, hmac, json, os, time
from http.server import BaseHTTPRequestHandler, HTTPServer

APP_SECRET = os.environ.get("KEFU_APP_SECRET", "demo-app-secret-change-me").encode()  # the desk's app_secret
HOOK_SECRET = os.environ["KEFU_WEBHOOK_SECRET"].encode() if "KEFU_WEBHOOK_SECRET" in os.environ else None  # app_webhook.secret


def b64url(data) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def user_jwt(user_id: str, ttl: int = 600, **profile) -> str:
    """An HS256 JWT under the desk's app_secret: sub, iat, exp, and optional name, email, department."""
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + ttl, **profile}
    signing_input = b64url(json.dumps({"alg": "HS256", "typ": "JWT"})) + "." + b64url(json.dumps(claims))
    signature = hmac.new(APP_SECRET, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def webhook_ok(headers, body: bytes, tolerance=300) -> bool:
    """X-Kefu-Signature = sha256=HMAC(secret, "<X-Kefu-Timestamp>.<body>"); old timestamps are replays."""
    ts = headers.get("X-Kefu-Timestamp", "")
    if HOOK_SECRET is None or not ts.isdigit() or abs(time.time() - int(ts)) > tolerance:
        return False
    expected = "sha256=" + hmac.new(HOOK_SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("X-Kefu-Signature", ""))


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/kefu-session":  # behind the app's own login: the user id comes from the session
            user_id = self.headers["X-User-Id"]  # stand-in for the app's real authentication
            return self.reply(200, {"jwt": user_jwt(user_id, name=self.headers.get("X-User-Name", ""))})
        if self.path == "/kefu-webhook":
            if not webhook_ok(self.headers, body):
                return self.reply(401, {"error": "bad signature"})
            event = json.loads(body)  # deduplicate retries on X-Kefu-Delivery if pushes must not repeat
            print("push to", event["user_id"], ":", event["message"]["text"])
            return self.reply(200, {})
        self.reply(404, {})

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", 9000), Handler).serve_forever()
