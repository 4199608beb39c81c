// Drives the real @directus/sdk against a server: node sdk.mjs <scenario> <base-url> <email> <password>
// Prints one JSON object with what the SDK saw; the Python test asserts on it.
import {
  authentication, createDirectus, createItem, readItems, readMe, realtime, rest, staticToken,
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

const scenarios = {
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
