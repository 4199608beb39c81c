// A real identity provider for the single sign-on tests: npm oidc-provider serving the
// authorization-code grant with PKCE, behind its own login form.
//
//   node idp.mjs CONFIG.json
//
// CONFIG: {
//   port,                      // listens on 127.0.0.1:port, issuer http://127.0.0.1:port
//   keys: [private JWK],       // signs id_tokens; the first key by default
//   accounts: [{login, password, sub?,                    // sub defaults to login
//               email?, email_verified?, given_name?, family_name?, name?, groups?}],
//   clients: [{client_id, client_secret, redirect_uris,
//              token_endpoint_auth_method?}],             // client_secret_basic (default) | _post
// }
//
// Prints "ready" on stdout once it listens. Discovery at /.well-known/openid-configuration,
// authorize at /auth, token at /token, userinfo at /me, keys at /jwks. An authorization
// request shows the login form at /interaction/<uid> (fields `login`, `password`; a wrong pair
// shows the form again with "Invalid login or password"); consent is given by the provider for
// every scope asked (first-party clients), so a signed-in user goes straight back to the client.
import Provider from 'oidc-provider';

import { loadConfig, logErrors, serve, signingKeys } from './peer.mjs';

const { config, issuer } = loadConfig();
const keys = signingKeys(config.keys);
const accounts = new Map(
  config.accounts.map((account) => [account.sub ?? account.login, account]),
);
const CLAIMS = ['email', 'email_verified', 'given_name', 'family_name', 'name', 'groups'];

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const provider = new Provider(issuer, {
  jwks: { keys },
  clients: config.clients.map((client) => ({
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: client.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: client.token_endpoint_auth_method ?? 'client_secret_basic',
    id_token_signed_response_alg: keys[0].alg ?? 'RS256',
  })),
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  // The id_token carries the claims of the scopes asked, not only `sub`: a client that reads
  // the id_token alone sees the user's groups and email.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  cookies: { keys: ['sso-idp-peer-cookie-key'] },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
    revocation: { enabled: false },
    introspection: { enabled: false },
  },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  async findAccount(ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        const claims = { sub };
        for (const name of CLAIMS) if (account[name] !== undefined) claims[name] = account[name];
        return claims;
      },
    };
  },
  // Consent for first-party clients: every scope and claim the request asks for is granted.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope ?? 'openid');
    grant.addOIDCClaims(CLAIMS);
    await grant.save();
    return grant;
  },
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});

logErrors(provider);

function form(uid, error) {
  return `<!doctype html><html><head><title>Sign in at the IdP</title></head><body>
<h1>Sign in at the IdP</h1>
${error ? `<p class="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
  <label>Login <input name="login" autofocus></label>
  <label>Password <input name="password" type="password"></label>
  <button type="submit">Sign in</button>
</form></body></html>`;
}

async function body(req) {
  let data = '';
  for await (const chunk of req) {
    data += chunk;
    if (data.length > 16384) throw new Error('form too large');
  }
  return new URLSearchParams(data);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (details.prompt.name !== 'login') {
    // Consent is normally given by loadExistingGrant; this covers any other prompt.
    const grant = new provider.Grant({
      clientId: details.params.client_id,
      accountId: details.session?.accountId,
    });
    grant.addOIDCScope(details.params.scope ?? 'openid');
    grant.addOIDCClaims(CLAIMS);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, {
      mergeWithLastSubmission: true,
    });
    return;
  }
  if (action !== 'login' || req.method !== 'POST') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(form(uid));
    return;
  }
  const fields = await body(req);
  const account = [...accounts.entries()].find(
    ([, a]) => a.login === fields.get('login') && a.password === fields.get('password'),
  );
  if (!account) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(form(uid, 'Invalid login or password'));
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: account[0] } }, {
    mergeWithLastSubmission: false,
  });
}

const handle = provider.callback();
serve((req, res) => {
  const match = /^\/interaction\/([^/?]+)(?:\/(login))?(?:\?.*)?$/.exec(req.url ?? '');
  if (!match) {
    handle(req, res);
    return;
  }
  interaction(req, res, match[1], match[2]).catch((err) => {
    console.error('interaction', err.message);
    if (!res.headersSent) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    }
    res.end(`interaction failed: ${err.message}`);
  });
}, config.port);
