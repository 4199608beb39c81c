// A raw `ws` client: open a socket with the given subprotocols, send frames, print what
// comes back. Usage: node raw.mjs '<json options>'  {url, protocols?, send?: [frames], timeoutMs?}
// Prints JSON lines: open, message, http (status of a refused upgrade), closed.
import WebSocket from 'ws';

const options = JSON.parse(process.argv[2]);
const print = (event) => process.stdout.write(JSON.stringify(event) + '\n');
const socket = new WebSocket(options.url, options.protocols ?? []);

socket.on('open', () => {
  print({ type: 'open', protocol: socket.protocol });
  for (const frame of options.send ?? []) socket.send(JSON.stringify(frame));
});
socket.on('message', (data) => print({ type: 'message', data: JSON.parse(String(data)) }));
socket.on('unexpected-response', (request, response) => {
  print({ type: 'http', status: response.statusCode });
  process.exit(0);
});
socket.on('close', (code, reason) => {
  print({ type: 'closed', code, reason: String(reason) });
  process.exit(0);
});
socket.on('error', (error) => print({ type: 'socket-error', message: String(error.message) }));
setTimeout(() => {
  print({ type: 'timeout' });
  process.exit(0);
}, options.timeoutMs ?? 10000);
