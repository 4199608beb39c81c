// The real openid-client (the OpenID-certified relying party library) against this server,
// driven step by step by tests/oauth/test_openid_client.py. The command is one JSON object on
// stdin: {step, issuer, client_id, client_secret, ...}; the answer is one JSON line on stdout,
// {ok: true, result} or {ok: false, error: {name, code, error, status, message}}.
//
// Steps:
//   discover      discovery only: the validated server metadata
//   start         the authorization URL (PKCE S256, state, nonce) and the values to keep
//   finish        the code exchange from the callback URL (id_token validated: signature
//                 against the JWKS, iss, aud, nonce), its claims, and userinfo
//   refresh       a refresh token grant with {refresh_token}
//   introspect    {token}: the introspection answer
//   revoke        {token}: revocation, then introspection of the same token
//   client_credentials  {scope}: a client credentials grant
import * as client from "openid-client";

function describe(error) {
  return {
    name: error?.name,
    code: error?.code,
    error: error?.error,
    error_description: error?.error_description,
    status: error?.status,
    message: String(error?.message ?? error),
    cause: error?.cause ? String(error.cause?.message ?? error.cause) : undefined,
  };
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function configure(command) {
  // http://127.0.0.1 in the tests: openid-client refuses plain HTTP unless told otherwise.
  return client.discovery(
    new URL(command.issuer),
    command.client_id,
    command.client_secret || undefined,
    command.client_secret ? client.ClientSecretBasic(command.client_secret) : client.None(),
    { execute: [client.allowInsecureRequests] },
  );
}

const steps = {
  async discover(config) {
    return { metadata: config.serverMetadata() };
  },

  async start(config, command) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: command.redirect_uri,
      scope: command.scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    return { url: url.href, verifier, state, nonce };
  },

  async finish(config, command) {
    const tokens = await client.authorizationCodeGrant(config, new URL(command.callback), {
      pkceCodeVerifier: command.verifier,
      expectedState: command.state,
      expectedNonce: command.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    return { tokens: { ...tokens }, claims, userinfo };
  },

  async refresh(config, command) {
    const tokens = await client.refreshTokenGrant(config, command.refresh_token);
    return { tokens: { ...tokens }, claims: tokens.claims() ?? null };
  },

  async introspect(config, command) {
    return { introspection: await client.tokenIntrospection(config, command.token) };
  },

  async revoke(config, command) {
    await client.tokenRevocation(config, command.token);
    return { introspection: await client.tokenIntrospection(config, command.token) };
  },

  async client_credentials(config, command) {
    const tokens = await client.clientCredentialsGrant(config, { scope: command.scope });
    return { tokens: { ...tokens } };
  },
};

let answer;
try {
  const command = await readStdin();
  const step = steps[command.step];
  if (!step) throw new Error(`unknown step ${command.step}`);
  answer = { ok: true, result: await step(await configure(command), command) };
} catch (error) {
  answer = { ok: false, error: describe(error) };
}
process.stdout.write(JSON.stringify(answer) + "\n");
