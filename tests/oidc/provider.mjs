#!/usr/bin/env node
// Loopback-only OpenID Connect provider for Gospital's integration tests.
//
// Built on panva's oidc-provider (pinned in package.json). Issues ES256-signed
// JWT access tokens through the client_credentials grant, one client per role.
// DEVELOPMENT / TEST USE ONLY: plain http, in-memory storage, hard-coded
// client secrets. See README.md for usage.
//
//   node provider.mjs --port 0 --audience gospital-api \
//        --patient-id PAT-01J0000000000000000000000 [--key-file key.json] [--verbose]
//
// stdout carries exactly one line, `READY http://127.0.0.1:<port>`, once the
// server is listening. Everything else goes to stderr.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

// ---------------------------------------------------------------------------
// Keep stdout clean. oidc-provider prints its NOTICEs with console.info (i.e.
// stdout); route every console method to stderr and drop the notices that are
// expected for this development-only setup. This must run before
// oidc-provider is imported (it warns at import time), hence the dynamic
// import further down.
// ---------------------------------------------------------------------------
const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    audience: { type: 'string', default: 'gospital-api' },
    'patient-id': { type: 'string', default: 'PAT-01J0000000000000000000000' },
    'key-file': { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
  strict: true,
  allowPositionals: false,
});

const verbose = args.verbose || process.env.OIDC_PROVIDER_VERBOSE === '1';
const EXPECTED_NOISE = [
  // engines says >=20.19; oidc-provider 9 nags about anything older than Node 22.
  'oidc-provider WARNING: Unsupported runtime',
];
{
  const toStderr = (...a) => {
    const line = a.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' ');
    if (!verbose && EXPECTED_NOISE.some((p) => line.startsWith(p))) return;
    process.stderr.write(`${line}\n`);
  };
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  console.warn = toStderr;
}

const { default: Provider, errors } = await import('oidc-provider');

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------
function fail(msg) {
  process.stderr.write(`provider.mjs: ${msg}\n`);
  process.exit(2);
}

const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port ${args.port}`);
const AUDIENCE = args.audience;
if (!AUDIENCE) fail('--audience must not be empty');
const PATIENT_ID = args['patient-id'];
if (!PATIENT_ID) fail('--patient-id must not be empty');

// oidc-provider requires resource indicators (RFC 8707) to be absolute URIs,
// while the token `aud` may be any string. Use the audience itself when it is
// already an absolute URI, otherwise wrap it in a URN. Clients never have to
// send it: it is the default resource for every token request.
const RESOURCE = URL.parse(AUDIENCE) ? AUDIENCE : `urn:gospital:resource:${AUDIENCE}`;
const RESOURCE_SCOPE = 'api';
const TOKEN_TTL = 600;

// ---------------------------------------------------------------------------
// Signing key (one ES256 / P-256 private JWK)
// ---------------------------------------------------------------------------
function generateKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    ...jwk,
    kid: crypto.randomBytes(16).toString('base64url'),
    alg: 'ES256',
    use: 'sig',
  };
}

function loadOrCreateKey(file) {
  if (!file) {
    const key = generateKey();
    process.stderr.write(`provider.mjs: using in-memory signing key kid=${key.kid}\n`);
    return key;
  }
  if (fs.existsSync(file)) {
    const key = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (key.kty !== 'EC' || key.crv !== 'P-256' || !key.d) {
      fail(`${file}: expected a private P-256 EC JWK`);
    }
    if (!key.kid) fail(`${file}: key has no kid`);
    key.alg = 'ES256';
    key.use = 'sig';
    process.stderr.write(`provider.mjs: loaded signing key kid=${key.kid} from ${file}\n`);
    return key;
  }
  const key = generateKey();
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  process.stderr.write(`provider.mjs: generated signing key kid=${key.kid} into ${file}\n`);
  return key;
}

const signingKey = loadOrCreateKey(args['key-file']);

// ---------------------------------------------------------------------------
// Clients: client_id gospital-<name>, client_secret secret-<name>
// ---------------------------------------------------------------------------
const ROLE_CLIENTS = ['admin', 'doctor', 'nurse', 'receptionist', 'billing', 'auditor', 'patient'];
const CLIENT_ROLES = new Map([
  ...ROLE_CLIENTS.map((role) => [`gospital-${role}`, [role]]),
  ['gospital-norole', []],
  ['gospital-multi', ['doctor', 'nurse']],
]);

const clients = [...CLIENT_ROLES.keys()].map((clientId) => ({
  client_id: clientId,
  client_secret: `secret-${clientId.slice('gospital-'.length)}`,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  // oidc-provider accepts client_secret_basic as well for a
  // client_secret_post client (and vice versa), see shared/client_auth.js.
  token_endpoint_auth_method: 'client_secret_post',
  scope: RESOURCE_SCOPE,
}));

// ---------------------------------------------------------------------------
// Tiny in-memory adapter (avoids the dev-only MemoryAdapter warning; all
// state is lost on restart, which is what the tests want).
// ---------------------------------------------------------------------------
const store = new Map();
class MapAdapter {
  constructor(name) { this.name = name; }

  key(id) { return `${this.name}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(this.key(id), { payload, expiresAt });
  }

  async find(id) {
    const entry = store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findByUid(uid) {
    for (const [k, v] of store) {
      if (k.startsWith(`${this.name}:`) && v.payload.uid === uid) return this.find(k.slice(this.name.length + 1));
    }
    return undefined;
  }

  async findByUserCode(userCode) {
    for (const [k, v] of store) {
      if (k.startsWith(`${this.name}:`) && v.payload.userCode === userCode) return this.find(k.slice(this.name.length + 1));
    }
    return undefined;
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    for (const [k, v] of store) if (v.payload.grantId === grantId) store.delete(k);
  }
}

// ---------------------------------------------------------------------------
// Provider configuration
// ---------------------------------------------------------------------------
function configuration() {
  return {
    adapter: MapAdapter,
    clients,
    jwks: { keys: [signingKey] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    clientDefaults: {
      grant_types: ['client_credentials'],
      response_types: [],
      id_token_signed_response_alg: 'ES256',
      token_endpoint_auth_method: 'client_secret_post',
    },
    clientAuthMethods: ['client_secret_post', 'client_secret_basic'],
    scopes: ['openid', RESOURCE_SCOPE],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // Used when the token request carries no `resource` parameter.
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (resourceIndicator !== RESOURCE) {
            throw new errors.InvalidTarget(`unknown resource; omit it or use ${RESOURCE}`);
          }
          return {
            scope: RESOURCE_SCOPE,
            audience: AUDIENCE,
            accessTokenTTL: TOKEN_TTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    // Claims merged into the JWT access token payload. (oidc-provider puts
    // them first, so they cannot override jti/sub/iat/exp/client_id/iss/aud.)
    extraTokenClaims: async (_ctx, token) => {
      const roles = CLIENT_ROLES.get(token.clientId);
      if (!roles) return undefined;
      const claims = { roles: [...roles] };
      if (token.clientId === 'gospital-patient') claims.patient_id = PATIENT_ID;
      return claims;
    },
    ttl: {
      AccessToken: TOKEN_TTL,
      ClientCredentials: TOKEN_TTL,
      Grant: TOKEN_TTL,
      IdToken: TOKEN_TTL,
      Interaction: TOKEN_TTL,
      Session: TOKEN_TTL,
    },
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  };
}

// ---------------------------------------------------------------------------
// Server: bind first (so --port 0 resolves), then build the provider with the
// final issuer and hand it the requests.
// ---------------------------------------------------------------------------
let handler = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = http.createServer((req, res) => handler(req, res));

try {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
} catch (err) {
  fail(`cannot listen on 127.0.0.1:${port}: ${err.code || err.message}`);
}

const issuer = `http://127.0.0.1:${server.address().port}`;
const provider = new Provider(issuer, configuration());

provider.on('server_error', (_ctx, err) => {
  process.stderr.write(`provider.mjs: server_error: ${err?.stack || err}\n`);
});
if (verbose) {
  provider.on('grant.error', (_ctx, err) => {
    process.stderr.write(`provider.mjs: grant.error: ${err?.error || ''} ${err?.error_description || err}\n`);
  });
  provider.on('grant.success', (ctx) => {
    process.stderr.write(`provider.mjs: token issued to ${ctx.oidc.client?.clientId}\n`);
  });
}

handler = provider.callback();

process.stdout.write(`READY ${issuer}\n`);

// ---------------------------------------------------------------------------
// Clean shutdown
// ---------------------------------------------------------------------------
let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`provider.mjs: ${signal} received, shutting down\n`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
