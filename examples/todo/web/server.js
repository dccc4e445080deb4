// The todo web front end: serves the page and passes /api/* on to the API at $API_URL.
const http = require("node:http");
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

const port = Number(process.env.PORT || 8080);
const api = new URL(process.env.API_URL || "http://127.0.0.1:8000");
const page = readFileSync(join(__dirname, "index.html"));

http
  .createServer((req, res) => {
    if (req.url === "/" || req.url === "/index.html") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      return res.end(page);
    }
    if (req.url && req.url.startsWith("/api/")) {
      // The whole body first: the API reads Content-Length, not chunked bodies.
      const chunks = [];
      req.on("data", (chunk) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        const upstream = http.request(
          { host: api.hostname, port: api.port, path: req.url.slice(4), method: req.method, headers: { "Content-Type": "application/json", "Content-Length": body.length } },
          (answer) => {
            res.writeHead(answer.statusCode || 502, { "Content-Type": "application/json" });
            answer.pipe(res);
          },
        );
        upstream.on("error", (err) => {
          res.writeHead(502, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ error: `the API is not answering: ${err.message}` }));
        });
        upstream.end(body);
      });
      return;
    }
    res.writeHead(404, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: "not found" }));
  })
  .listen(port, "127.0.0.1", () => console.log(`web: listening on http://127.0.0.1:${port}, API at ${api.origin}`));
