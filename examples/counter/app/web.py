# A front end that asks the API, by its compose alias `backend`, for the count.
import http.server, urllib.request
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"web: " + urllib.request.urlopen("http://backend:8000/count", timeout=2).read()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
