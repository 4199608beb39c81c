// graphql-ws client driven by tests/realtime/test_graphql_ws.py.
// Usage: node subscribe.mjs '<json options>'
//   {url, token?, query, variables?, count?, timeoutMs?}
// Prints one JSON line per event: connected, ready, next, error, complete, closed.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const options = JSON.parse(process.argv[2]);
const print = (event) => process.stdout.write(JSON.stringify(event) + '\n');
let received = 0;

const client = createClient({
  url: options.url,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  connectionParams: options.token === undefined ? undefined : { access_token: options.token },
  onNonLazyError: () => {},
  on: {
    connected: () => print({ type: 'connected' }),
    closed: (event) => {
      print({ type: 'closed', code: event.code, reason: event.reason });
      process.exit(0);
    },
  },
});

client.subscribe(
  { query: options.query, variables: options.variables ?? {} },
  {
    next: (payload) => {
      print({ type: 'next', payload });
      received += 1;
      if (options.count && received >= options.count) {
        client.dispose().then(() => process.exit(0));
      }
    },
    error: (error) => print({ type: 'error', error: Array.isArray(error) ? error : String(error?.message ?? error) }),
    complete: () => print({ type: 'complete' }),
  },
);

// graphql-transport-ws has no subscribe acknowledgement: give the server a moment to join
// the change group before the test starts writing.
setTimeout(() => print({ type: 'ready' }), options.readyMs ?? 500);
setTimeout(() => {
  print({ type: 'timeout' });
  process.exit(0);
}, options.timeoutMs ?? 15000);
