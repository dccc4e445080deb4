"""The todo API: items in SQLite under $DATA_DIR, served on 127.0.0.1:$PORT.

GET /health, GET /items, POST /items {"text": "..."}, DELETE /items/<id>.
"""
import json
import os
import sqlite3
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DATABASE = os.path.join(os.environ.get("DATA_DIR") or ".", "todo.db")


def connect():
    db = sqlite3.connect(DATABASE)
    db.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, text TEXT NOT NULL, created TEXT DEFAULT CURRENT_TIMESTAMP)")
    return db


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            return self.reply(200, {"ok": True})
        if self.path == "/items":
            with connect() as db:
                rows = db.execute("SELECT id, text, created FROM items ORDER BY id").fetchall()
            return self.reply(200, {"items": [{"id": r[0], "text": r[1], "created": r[2]} for r in rows]})
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/items":
            return self.reply(404, {"error": "not found"})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            text = str(body["text"]).strip()
        except (ValueError, KeyError, TypeError):
            return self.reply(400, {"error": 'send {"text": "..."}'})
        if not text:
            return self.reply(400, {"error": "text is empty"})
        with connect() as db:
            item_id = db.execute("INSERT INTO items (text) VALUES (?)", (text,)).lastrowid
        self.reply(201, {"id": item_id, "text": text})

    def do_DELETE(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "items" or not parts[1].isdigit():
            return self.reply(404, {"error": "not found"})
        with connect() as db:
            deleted = db.execute("DELETE FROM items WHERE id = ?", (int(parts[1]),)).rowcount
        self.reply(200 if deleted else 404, {"deleted": deleted})

    def log_message(self, fmt, *args):
        print("api:", fmt % args, flush=True)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    connect().close()
    print(f"api: listening on 127.0.0.1:{port}, data in {DATABASE}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
