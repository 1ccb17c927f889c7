// The peer of `cargo xtask bench endpoint`: a Node.js HTTP server that runs the same script as
// the product's endpoint in a fresh `vm` context per request (no recording). Prints its port.
import http from 'node:http';
import vm from 'node:vm';

const source = `(request) => ({ status: 200, body: { hello: 'world', path: request.path } })`;
const script = new vm.Script(source);

const server = http.createServer((req, res) => {
  const context = vm.createContext({});
  const handler = script.runInContext(context);
  const answer = handler({ method: req.method, path: req.url, headers: req.headers });
  const body = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  console.log(server.address().port);
});
