// A real OpenID Connect provider (npm `oidc-provider`) for the API tests, on loopback only.
//
//   node provider.mjs [redirect_uri]
//
// Listens on 127.0.0.1 on a free port and prints `listening <port>` on stdout; its issuer is
// `http://127.0.0.1:<port>`. Exits when its standard input closes, so a test that dies (or a
// runner that kills it) leaves no provider behind.
//
// The browser's part is done without a browser: the authorization endpoint sends the
// user agent to /interaction/<uid>, which signs in the account named by `login_hint` (the
// test adds it to the authorization URL) and grants what was asked, with no page in between.
//
// Test controls (loopback, tests only):
//   PUT  /__test/accounts/<id>   body: JSON claims, replaces that account's claims; `amr`
//                                (array) and `acr` in it are the next logins' ID-token `amr`/`acr`
//   POST /__test/rotate-keys     a new signing key; the old one leaves the JWKS
//   POST /__test/delay/<ms>      every later answer waits <ms> milliseconds first
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const redirectUri = process.argv[2] ?? 'http://127.0.0.1:9/callback';

// The relying parties: one registration for `google`, one for `keycloak` (its client id
// names the client roles in `resource_access`).
const CLIENTS = [
  { client_id: 'google-client', client_secret: 'google-secret' },
  { client_id: 'billing-staff', client_secret: 'keycloak-secret' },
].map((c) => ({
  ...c,
  redirect_uris: [redirectUri],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
}));

const ACCOUNTS = {
  // A Google-like person with a verified e-mail at a hosted domain.
  anna: {
    email: 'anna@example.com',
    email_verified: true,
    name: 'Anna Example',
    hd: 'example.com',
  },
  // An e-mail nobody verified: must never be used.
  mallory: { email: 'mallory@example.com', email_verified: false, name: 'Mallory' },
  // A Keycloak-shaped employee: realm roles and client roles of `billing-staff`.
  jdoe: {
    email: 'j.doe@staff.example',
    email_verified: true,
    name: 'Jane Doe',
    preferred_username: 'j.doe',
    realm_access: { roles: ['offline_access', 'billing-support'] },
    resource_access: {
      'billing-staff': { roles: ['dpo'] },
      'other-client': { roles: ['admin'] },
    },
  },
  // Signs in fine but holds no role anybody maps.
  nobody: {
    email: 'nobody@staff.example',
    email_verified: true,
    name: 'No Roles',
    realm_access: { roles: ['offline_access'] },
  },
};

// RSA signing keys made once for these tests (never used anywhere else), taken in turn, each
// time with a new `kid`. Generating them here with generateKeyPairSync sometimes deadlocked
// node 20 at start (a finished key-generation job, freed by the garbage collector, waits on a
// mutex that is never released): a test then hung before the provider printed its port.
const KEYS = JSON.parse(readFileSync(new URL('./test-signing-keys.json', import.meta.url)));
let keysTaken = 0;

function newKey() {
  const jwk = KEYS[keysTaken++ % KEYS.length];
  return { ...jwk, kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

let delayMs = 0;
let provider;
let port;

function build(key) {
  const issuer = `http://127.0.0.1:${port}`;
  const p = new Provider(issuer, {
    clients: CLIENTS,
    jwks: { keys: [key] },
    pkce: { required: () => true },
    // Claims go into the ID token, as Google and a Keycloak realm with the role mappers'
    // "Add to ID token" do.
    conformIdTokenClaims: false,
    claims: {
      // `acr`/`amr`: how the login went (set per account through the test controls).
      openid: ['sub', 'acr', 'amr'],
      email: ['email', 'email_verified', 'hd'],
      profile: ['name', 'preferred_username'],
      roles: ['realm_access', 'resource_access'],
    },
    scopes: ['openid', 'email', 'profile', 'roles'],
    features: { devInteractions: { enabled: false } },
    ttl: { IdToken: 120, AccessToken: 120, AuthorizationCode: 60, Interaction: 300, Session: 300, Grant: 300 },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      if (!ACCOUNTS[id]) return undefined;
      // `amr`/`acr` describe the login, not the person: they go in through the interaction.
      const { amr, acr, ...claims } = ACCOUNTS[id];
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
    // Whatever is asked is granted: the test plays a person who always agrees.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope);
      await grant.save();
      return grant;
    },
  });
  return p;
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const accountId = details.params.login_hint;
  if (!ACCOUNTS[accountId]) {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'unknown login_hint',
    });
    return;
  }
  // An account's `amr`/`acr` (set with PUT /__test/accounts) say how this login went.
  const { amr, acr } = ACCOUNTS[accountId];
  const login = { accountId, ...(amr ? { amr } : {}), ...(acr ? { acr } : {}) };
  await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
}

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function control(req, res, url) {
  const account = url.pathname.match(/^\/__test\/accounts\/([^/]+)$/);
  const delay = url.pathname.match(/^\/__test\/delay\/(\d+)$/);
  if (account && req.method === 'PUT') {
    ACCOUNTS[account[1]] = JSON.parse(await body(req));
  } else if (delay && req.method === 'POST') {
    delayMs = Number(delay[1]);
  } else if (url.pathname === '/__test/rotate-keys' && req.method === 'POST') {
    provider = build(newKey());
  } else {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(204).end();
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname.startsWith('/__test/')) return await control(req, res, url);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const uid = url.pathname.match(/^\/interaction\/([^/]+)$/);
    if (uid && req.method === 'GET') return await interaction(req, res, uid[1]);
    return provider.callback()(req, res);
  } catch (err) {
    process.stderr.write(`test provider: ${err.stack ?? err}\n`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
});

server.listen(0, '127.0.0.1', () => {
  port = server.address().port;
  provider = build(newKey());
  process.stdout.write(`listening ${port}\n`);
});

// The parent-death guard: the test holds our stdin; when it closes, we go.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
