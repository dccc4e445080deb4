# The counter's API: a count of hits in SQLite under /data (a state volume), and /health.
import http.server, os, sqlite3
db = sqlite3.connect("/data/counter.db", check_same_thread=False)
db.execute("create table if not exists hits (n integer)")
db.commit()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/count":
            db.execute("insert into hits values (1)")
            db.commit()
        n = db.execute("select count(*) from hits").fetchone()[0]
        body = ("%s %d" % (self.path, n)).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        print("api:", self.path, flush=True)
print("api listening on", os.environ["PORT"], flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
