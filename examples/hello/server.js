// The example app: answers with the message in message.txt and its release.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const message = fs.readFileSync(path.join(__dirname, 'message.txt'), 'utf8').trim();
// the release folder's name, or (in a container) what slipway passes
const release = process.env.SLIPWAY_RELEASE || path.basename(process.cwd());
const port = Number(process.env.PORT || 3000);

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('ok\n');
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`${message} (release ${release})\n`);
});
server.listen(port, '127.0.0.1', () => console.log(`hello listening on 127.0.0.1:${port}`));
// On SIGTERM: accept nothing new, finish the requests in flight, and close the
// idle keep-alive connections a proxy holds open (Node 18 keeps them otherwise,
// and the stop would wait for stop_timeout and a SIGKILL).
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setInterval(() => server.closeIdleConnections(), 100).unref();
});
