// Drives the real @directus/sdk against a server: node sdk.mjs <scenario> <base-url> <email> <password>
// Prints one JSON object with what the SDK saw; the Python test asserts on it.
import {
  authentication, createDirectus, createItem, createItems, createPermission, createPolicy,
  createRole, createUser, deletePermission, deletePolicy, deleteRole, deleteUser, graphql,
  readItems, readMe, readPolicyGlobals, readRoles, readRolesMe, readUserPermissions, realtime,
  rest, staticToken, updateRole, updateUser,
} from '@directus/sdk';

const [scenario, url, email, password, extra] = process.argv.slice(2);

// Node's fetch keeps no cookies: a small jar so cookie and session modes behave as in a browser.
const jar = new Map();
async function fetchWithCookies(input, init = {}) {
  const headers = new Headers(init.headers ?? {});
  if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
  const response = await fetch(input, { ...init, headers });
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const [name, ...value] = pair.split('=');
    const joined = value.join('=');
    if (joined === '' || /max-age=0/i.test(line)) jar.delete(name.trim()); else jar.set(name.trim(), joined);
  }
  return response;
}

async function authModes(mode) {
  const client = createDirectus(url, { globals: { fetch: fetchWithCookies } })
    .with(authentication(mode, { autoRefresh: false }))
    .with(rest({ credentials: 'include' }));
  const login = await client.login({ email, password });
  const me = await client.request(readMe({ fields: ['id', 'email'] }));
  const articles = await client.request(readItems('articles', { fields: ['id', 'title'], limit: 2 }));
  const refreshed = await client.refresh();
  const meAgain = await client.request(readMe({ fields: ['email'] }));
  await client.logout();
  let afterLogout = 'ok';
  try {
    await client.request(readMe({ fields: ['email'] }));
  } catch (error) {
    afterLogout = error?.errors?.[0]?.extensions?.code ?? String(error);
  }
  return {
    login_keys: Object.keys(login), expires: login.expires, me, articles: articles.length,
    refreshed_keys: Object.keys(refreshed), me_again: meAgain, cookies_after_logout: [...jar.keys()],
    after_logout: afterLogout,
  };
}

async function withStaticToken() {
  const client = createDirectus(url).with(staticToken(extra)).with(rest());
  const me = await client.request(readMe({ fields: ['email'] }));
  const articles = await client.request(readItems('articles', { limit: 1 }));
  return { me, articles: articles.length };
}

async function realtimeEvents() {
  const client = createDirectus(url)
    .with(authentication('json', { autoRefresh: false }))
    .with(realtime({ authMode: 'handshake', reconnect: false }))
    .with(rest());
  await client.login({ email, password });
  await client.connect();
  const { subscription, unsubscribe } = await client.subscribe('articles', {
    event: 'create', query: { fields: ['id', 'title'] },
  });
  const frames = [];
  const reader = (async () => {
    for await (const frame of subscription) {
      frames.push(frame);
      if (frame.event === 'create') break;
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const created = await client.request(createItem('articles', { title: 'from the sdk' }));
  await Promise.race([reader, new Promise((resolve) => setTimeout(resolve, 5000))]);
  unsubscribe();
  client.disconnect();
  return { created_id: created.id, frames };
}

const errorCode = (error) => error?.errors?.[0]?.extensions?.code ?? String(error?.message ?? error);

async function attempt(promise) {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return errorCode(error);
  }
}

// A provisioning script: a policy with permissions, a role with that policy, a user in the
// role with a static token; the user's reads obey them at once as the admin changes them.
async function systemApi() {
  const admin = createDirectus(url)
    .with(authentication('json', { autoRefresh: false }))
    .with(rest());
  await admin.login({ email, password });
  await admin.request(createItems('articles', [
    { title: 'sdk published', status: 'published' }, { title: 'sdk draft', status: 'draft' },
  ]));
  const policy = await admin.request(createPolicy({
    name: 'SDK readers', app_access: false,
    permissions: [{
      collection: 'articles', action: 'read', fields: ['id', 'title'],
      permissions: { status: { _eq: 'published' } },
    }],
  }));
  const role = await admin.request(createRole({ name: 'SDK role', policies: [{ policy: policy.id }] }));
  const user = await admin.request(createUser({
    email: 'sdk-reader@example.com', password: 'sdk-reader-password-1', role: role.id,
  }));
  const token = 'sdk-reader-static-token-0123456789';
  await admin.request(updateUser(user.id, { token }));
  const reader = createDirectus(url).with(staticToken(token)).with(rest());

  const titles = (await reader.request(readItems('articles', { fields: ['title'], limit: 100 })))
    .map((row) => row.title);
  const statusRead = await attempt(reader.request(readItems('articles', { fields: ['status'] })));
  const permissions = await reader.request(readUserPermissions());
  const globals = await reader.request(readPolicyGlobals());
  const rolesMe = await reader.request(readRolesMe());
  const rolesAsReader = await attempt(reader.request(readRoles()));
  const roles = await admin.request(readRoles({
    fields: ['name', 'policies.policy.name'], filter: { name: { _eq: 'SDK role' } },
  }));

  const grant = await admin.request(createPermission({
    policy: policy.id, collection: 'articles', action: 'create', fields: ['*'],
  }));
  const createWithGrant = await attempt(reader.request(createItem('articles', { title: 'by reader' })));
  await admin.request(deletePermission(grant.id));
  const createWithout = await attempt(reader.request(createItem('articles', { title: 'refused' })));
  await admin.request(updateRole(role.id, { policies: [] }));
  const readDetached = await attempt(reader.request(readItems('articles')));

  const badPermission = await attempt(admin.request(createPermission({
    policy: policy.id, collection: 'nope', action: 'read', fields: ['*'],
  })));
  const publicDelete = await attempt(admin.request(deletePolicy('abf8a154-5b1c-4a46-ac9c-7300570f4f17')));

  await admin.request(deleteUser(user.id));
  await admin.request(deleteRole(role.id));
  await admin.request(deletePolicy(policy.id));
  return {
    titles, status_read: statusRead, articles_access: permissions.articles, globals,
    roles_me: rolesMe.map((row) => row.id === role.id), roles_as_reader: rolesAsReader, roles,
    create_with_grant: createWithGrant, create_without: createWithout,
    read_detached: readDetached, bad_permission: badPermission, public_delete: publicDelete,
  };
}

// Sign-in, refresh and logout through /graphql/system, then system queries with the token.
async function graphqlSystem() {
  const anonymous = createDirectus(url).with(graphql());
  const login = await anonymous.query(
    'mutation ($email: String!, $password: String!) { auth_login(email: $email, password: $password) { access_token refresh_token expires } }',
    { email, password }, 'system',
  );
  const tokens = login.auth_login;
  const signedIn = createDirectus(url).with(staticToken(tokens.access_token)).with(graphql());
  const me = await signedIn.query('{ users_me { email } server_ping }', {}, 'system');
  const roles = await signedIn.query('{ roles(filter: {name: {_eq: "Administrator"}}) { name } }', {}, 'system');
  const refresh = 'mutation ($token: String) { auth_refresh(refresh_token: $token, mode: json) { access_token refresh_token expires } }';
  const refreshed = (await anonymous.query(refresh, { token: tokens.refresh_token }, 'system')).auth_refresh;
  const reused = await attempt(anonymous.query(refresh, { token: tokens.refresh_token }, 'system'));
  const logout = await anonymous.query(
    'mutation ($token: String) { auth_logout(refresh_token: $token) }', { token: refreshed.refresh_token }, 'system',
  );
  const afterLogout = await attempt(anonymous.query(refresh, { token: refreshed.refresh_token }, 'system'));
  const wrong = await attempt(anonymous.query(
    'mutation ($email: String!) { auth_login(email: $email, password: "wrong-password") { access_token } }',
    { email }, 'system',
  ));
  const anonymousRoles = await attempt(anonymous.query('{ roles { name } }', {}, 'system'));
  return {
    login_keys: Object.keys(tokens).sort(), expires: tokens.expires, me, roles: roles.roles,
    refreshed: refreshed.refresh_token !== tokens.refresh_token, reused, logout,
    after_logout: afterLogout, wrong, anonymous_roles: anonymousRoles,
  };
}

const scenarios = {
  system: systemApi,
  graphql: graphqlSystem,
  json: () => authModes('json'),
  cookie: () => authModes('cookie'),
  session: () => authModes('session'),
  static: withStaticToken,
  realtime: realtimeEvents,
};

try {
  console.log(JSON.stringify({ ok: true, result: await scenarios[scenario]() }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: error?.errors ?? error?.message ?? String(error) }));
}
process.exit(0);
