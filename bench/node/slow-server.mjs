// The slow upstream of `cargo xtask bench ops` (executions in flight): answers every request
// after DELAY_MS milliseconds (argument 1, default 3000), holding any number of connections.
// Prints its port.
import http from 'node:http';

const delay = Number(process.argv[2] ?? 3000);
const server = http.createServer((req, res) => {
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"slow":true}');
  }, delay);
});
server.maxHeadersCount = 64;
server.listen({ port: 0, host: '127.0.0.1', backlog: 65535 }, () => {
  console.log(server.address().port);
});
