// What the oidc-provider peers share: their JSON configuration, their signing keys and how
// they listen and stop.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const PRIVATE = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth']);

// The configuration file named on the command line, and the issuer URL of its port.
export function loadConfig() {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  return { config, issuer: `http://127.0.0.1:${config.port}` };
}

// The private signing keys, checked. PyJWT's to_jwk writes key_ops ["sign"]: published as
// is, a strict verifier would refuse it, so it is dropped.
export function signingKeys(configured) {
  const keys = (configured ?? []).map(({ key_ops: _ops, ...key }) => key);
  if (!keys.length) throw new Error('config.keys must hold at least one private JWK');
  for (const [i, key] of keys.entries()) {
    if (!key.alg) throw new Error(`config.keys[${i}] needs an "alg" (RS256, ES256, …)`);
    if (!Object.keys(key).some((member) => PRIVATE.has(member))) {
      throw new Error(`config.keys[${i}] is not a private key`);
    }
  }
  return keys;
}

// Log the provider's errors (the tests read them in the peer's log).
export function logErrors(provider) {
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  for (const event of ['grant.error', 'authorization.error']) {
    provider.on(event, (ctx, err) =>
      console.error(event, err.message, err.error_description ?? ''),
    );
  }
}

// Listen on 127.0.0.1:port with `handler`, print "ready", stop on SIGTERM or SIGINT.
export function serve(handler, port) {
  const server = http.createServer(handler);
  server.listen(port, '127.0.0.1', () => {
    console.log('ready');
  });
  server.on('error', (err) => {
    console.error(err);
    process.exit(1);
  });
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      server.close();
      server.closeAllConnections?.();
      process.exit(0);
    });
  }
}
