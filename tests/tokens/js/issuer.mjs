// A real external JWT issuer for the tests: npm oidc-provider issuing client-credentials JWT
// access tokens (RFC 9068, `typ: at+jwt`) for one or more resource indicators (RFC 8707).
//
//   node issuer.mjs CONFIG.json
//
// CONFIG: {
//   port,                      // listens on 127.0.0.1:port, issuer http://127.0.0.1:port
//   keys: [private JWK],       // the key set, in order; the first one signs by default
//   clients: [{client_id, client_secret, scope,           // scope: the allowed scopes
//              groups?,                                   // → a `groups` claim (array)
//              claims?,                                   // → more claims (not standard ones)
//              signing_alg?, signing_kid?,                // which key signs this client's tokens
//              token_endpoint_auth_method?}],             // client_secret_basic (default) | _post
//   resource: "URL" | ["URL", …],                         // accepted resource indicators (= aud)
//   ttl_seconds?,              // access token lifetime, default 600
// }
//
// Prints "ready" on stdout once it listens. Discovery at /.well-known/openid-configuration,
// keys at /jwks, tokens at /token (grant_type=client_credentials&resource=…&scope=…).
import Provider, { errors } from 'oidc-provider';

import { loadConfig, logErrors, serve, signingKeys } from './peer.mjs';

const { config, issuer } = loadConfig();
const resources = [config.resource].flat().filter(Boolean);
const ttl = Number(config.ttl_seconds ?? 600);
const keys = signingKeys(config.keys);
const byId = new Map(config.clients.map((client) => [client.client_id, client]));

// The key a client's tokens are signed with: its signing_kid, else the first key of its
// signing_alg, else the first key of the set.
function signingKey(clientId) {
  const client = byId.get(clientId) ?? {};
  if (client.signing_kid) {
    const key = keys.find((k) => k.kid === client.signing_kid);
    if (!key) throw new Error(`no key ${client.signing_kid} for client ${clientId}`);
    return key;
  }
  if (client.signing_alg) {
    const key = keys.find((k) => k.alg === client.signing_alg);
    if (!key) throw new Error(`no ${client.signing_alg} key for client ${clientId}`);
    return key;
  }
  return keys[0];
}

const provider = new Provider(issuer, {
  jwks: { keys },
  clients: config.clients.map((client) => ({
    client_id: client.client_id,
    client_secret: client.client_secret,
    scope: client.scope,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: client.token_endpoint_auth_method ?? 'client_secret_basic',
  })),
  // Every scope any client may have is a known scope: asking for one not allowed is invalid_scope.
  scopes: [...new Set(config.clients.flatMap((client) => (client.scope ?? '').split(' ')))]
    .filter(Boolean),
  clientDefaults: {
    grant_types: ['client_credentials'],
    response_types: [],
    id_token_signed_response_alg: keys[0].alg,
  },
  cookies: { keys: ['external-issuer-peer-cookie-key'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      async getResourceServerInfo(ctx, resourceIndicator, client) {
        if (!resources.includes(resourceIndicator)) {
          throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
        }
        const key = signingKey(client.clientId);
        return {
          audience: resourceIndicator,
          scope: client.scope ?? '',
          accessTokenFormat: 'jwt',
          accessTokenTTL: ttl,
          jwt: { sign: { alg: key.alg, kid: key.kid } },
        };
      },
    },
  },
  async extraTokenClaims(ctx, token) {
    const client = byId.get(token.clientId) ?? {};
    return {
      ...client.claims,
      gty: 'client-credentials',
      ...(client.groups ? { groups: client.groups } : undefined),
    };
  },
  ttl: {
    ClientCredentials: () => ttl,
    AccessToken: () => ttl,
  },
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});

logErrors(provider);
serve(provider.callback(), config.port);
