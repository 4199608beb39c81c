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
//   directory?: {url, people, groups, bind_dn, bind_password},
//                              // a portal in front of an LDAP directory: people sign in with
//                              // their directory password (uid=<login>,<people>), and their
//                              // claims — mail, givenName, sn, the cn of their groups — are
//                              // read from the directory at every sign-in (ldap-utils)
//   totp?: {login: base32 secret},   // the portal's own second factor for these logins
// }
//
// Prints "ready" on stdout once it listens. Discovery at /.well-known/openid-configuration,
// authorize at /auth, token at /token, userinfo at /me, keys at /jwks. An authorization
// request shows the login form at /interaction/<uid> (fields `login`, `password`; a wrong pair
// shows the form again with "Invalid login or password"); consent is given by the provider for
// every scope asked (first-party clients), so a signed-in user goes straight back to the client.
// A login with a TOTP secret is then asked for its code (field `code`, "Invalid code").
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';

import Provider from 'oidc-provider';

import { loadConfig, logErrors, serve, signingKeys } from './peer.mjs';

const { config, issuer } = loadConfig();
const keys = signingKeys(config.keys);
const accounts = new Map(
  config.accounts.map((account) => [account.sub ?? account.login, account]),
);
const CLAIMS = ['email', 'email_verified', 'given_name', 'family_name', 'name', 'groups'];
const directory = config.directory;
const secrets = config.totp ?? {};
const awaitingCode = new Map(); // interaction uid -> account id whose password was right
const SAFE_LOGIN = /^[A-Za-z0-9._-]{1,64}$/;

function run(command, args) {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 5000 }, (err, stdout) => resolve(err ? null : stdout));
  });
}

function values(ldif, name) {
  return ldif.split('\n').filter((l) => l.startsWith(`${name}: `)).map((l) => l.slice(name.length + 2));
}

async function directoryPassword(login, password) {
  if (!SAFE_LOGIN.test(login) || !password) return false;
  const dn = `uid=${login},${directory.people}`;
  return (await run('ldapwhoami', ['-x', '-H', directory.url, '-D', dn, '-w', password])) !== null;
}

async function directoryClaims(login) {
  const dn = `uid=${login},${directory.people}`;
  const bind = ['-x', '-LLL', '-o', 'ldif-wrap=no', '-H', directory.url,
    '-D', directory.bind_dn, '-w', directory.bind_password];
  const person = await run('ldapsearch', [...bind, '-b', dn, '-s', 'base', '(objectClass=*)',
    'mail', 'givenName', 'sn']);
  if (person === null) return { sub: login };
  const groups = await run('ldapsearch', [...bind, '-b', directory.groups, `(member=${dn})`, 'cn']);
  return {
    sub: login,
    email: values(person, 'mail')[0],
    email_verified: true,
    given_name: values(person, 'givenName')[0],
    family_name: values(person, 'sn')[0],
    groups: values(groups ?? '', 'cn'),
  };
}

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function totpValid(secret, code) {
  const key = base32(secret);
  const step = Math.floor(Date.now() / 30000);
  return [-1, 0, 1].some((drift) => {
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(step + drift));
    const mac = createHmac('sha1', key).update(counter).digest();
    const offset = mac[mac.length - 1] & 15;
    return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1e6).padStart(6, '0') === code;
  });
}

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
    if (directory) {
      return { accountId: sub, claims: () => directoryClaims(sub) };
    }
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

function codeForm(uid, error) {
  return `<!doctype html><html><head><title>Second factor at the IdP</title></head><body>
<h1>Enter the code of your authenticator</h1>
${error ? `<p class="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/code">
  <label>Code <input name="code" autocomplete="one-time-code" autofocus></label>
  <button type="submit">Verify</button>
</form></body></html>`;
}

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
  if (!action || req.method !== 'POST') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(form(uid));
    return;
  }
  const fields = await body(req);
  let accountId;
  if (action === 'code') {
    accountId = awaitingCode.get(uid);
    if (!accountId || !totpValid(secrets[accountId], fields.get('code') ?? '')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(accountId ? codeForm(uid, 'Invalid code') : form(uid));
      return;
    }
    awaitingCode.delete(uid);
  } else {
    const login = fields.get('login') ?? '';
    const password = fields.get('password') ?? '';
    if (directory) {
      accountId = (await directoryPassword(login, password)) ? login : undefined;
    } else {
      const account = [...accounts.entries()].find(
        ([, a]) => a.login === login && a.password === password,
      );
      accountId = account?.[0];
    }
    if (!accountId) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(form(uid, 'Invalid login or password'));
      return;
    }
    if (secrets[accountId]) {
      awaitingCode.set(uid, accountId);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(codeForm(uid));
      return;
    }
  }
  await provider.interactionFinished(req, res, { login: { accountId } }, {
    mergeWithLastSubmission: false,
  });
}

const handle = provider.callback();
serve((req, res) => {
  const match = /^\/interaction\/([^/?]+)(?:\/(login|code))?(?:\?.*)?$/.exec(req.url ?? '');
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
