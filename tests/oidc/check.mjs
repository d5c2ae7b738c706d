#!/usr/bin/env node
// Self-check for provider.mjs: starts it on port 0, fetches discovery + JWKS,
// requests a token for every client, asserts header/claims/signature, then
// simulates key rotation (restart on the same port with another key file).
// Exit code 0 = all good, 1 = failure.
//
//   node check.mjs

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as jose from 'jose'; // dependency of oidc-provider, pinned in package-lock.json

const here = path.dirname(fileURLToPath(import.meta.url));
const AUDIENCE = 'gospital-api';
const PATIENT_ID = 'PAT-01J0000000000000000000000';
const ROLE_CLIENTS = ['admin', 'doctor', 'nurse', 'receptionist', 'billing', 'auditor', 'patient'];
const EXPECTED = new Map([
  ...ROLE_CLIENTS.map((r) => [`gospital-${r}`, [r]]),
  ['gospital-norole', []],
  ['gospital-multi', ['doctor', 'nurse']],
]);

const children = new Set();

function start({ port = 0, keyFile } = {}) {
  const argv = [path.join(here, 'provider.mjs'), '--port', String(port),
    '--audience', AUDIENCE, '--patient-id', PATIENT_ID];
  if (keyFile) argv.push('--key-file', keyFile);
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`provider did not become ready\n${stderr}`)), 15000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /^READY (http:\/\/127\.0\.0\.1:(\d+))\n/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve({ issuer: m[1], port: Number(m[2]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`provider exited early (${code})\n${stderr}`));
    });
  });
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) { resolve(child.exitCode); return; }
    child.once('exit', (code, signal) => { children.delete(child); resolve(code ?? signal); });
    child.kill('SIGTERM');
  });
  return { ready, stop, stdout: () => stdout, stderr: () => stderr };
}

async function getJson(url) {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url} -> ${res.status}`);
  return res.json();
}

async function requestToken(tokenEndpoint, clientId, { basic = false, extra = {} } = {}) {
  const secret = `secret-${clientId.slice('gospital-'.length)}`;
  const body = new URLSearchParams({ grant_type: 'client_credentials', ...extra });
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
  } else {
    body.set('client_id', clientId);
    body.set('client_secret', secret);
  }
  const res = await fetch(tokenEndpoint, { method: 'POST', headers, body });
  const json = await res.json();
  return { status: res.status, json };
}

function decode(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function verifyWithNodeCrypto(token, jwks) {
  const [h, p, s] = token.split('.');
  const header = decode(h);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) return false;
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  return crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
}

async function checkToken(token, { issuer, jwks, clientId, scope }) {
  const [h, p] = token.split('.');
  const header = decode(h);
  const payload = decode(p);
  assert.equal(header.alg, 'ES256');
  assert.equal(header.typ, 'at+jwt');
  assert.equal(header.kid, jwks.keys[0].kid);

  assert.equal(payload.iss, issuer);
  assert.equal(payload.aud, AUDIENCE);
  assert.equal(payload.sub, clientId);
  assert.equal(payload.client_id, clientId);
  assert.equal(typeof payload.jti, 'string');
  assert.ok(payload.jti.length > 0);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Number.isInteger(payload.iat) && Math.abs(payload.iat - now) < 60, 'iat');
  assert.equal(payload.exp - payload.iat, 600, 'lifetime 600 s');
  assert.deepEqual(payload.roles, EXPECTED.get(clientId));
  if (clientId === 'gospital-patient') {
    assert.equal(payload.patient_id, PATIENT_ID);
  } else {
    assert.equal(payload.patient_id, undefined);
  }
  if (scope) assert.equal(payload.scope, scope);

  assert.ok(verifyWithNodeCrypto(token, jwks), 'ES256 signature (node:crypto)');
  const { payload: verified, protectedHeader } = await jose.jwtVerify(token, jose.createLocalJWKSet(jwks), {
    issuer, audience: AUDIENCE, typ: 'at+jwt', algorithms: ['ES256'],
  });
  assert.equal(protectedHeader.kid, header.kid);
  assert.equal(verified.sub, clientId);
  return { header, payload };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gospital-oidc-check-'));
  try {
    const keyA = path.join(dir, 'key-a.json');
    const keyB = path.join(dir, 'key-b.json');

    // --- first run: fresh key written to keyA -------------------------------
    let p = start({ keyFile: keyA });
    const { issuer, port } = await p.ready;
    assert.match(issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(fs.existsSync(keyA), 'key file written');

    const disco = await getJson(`${issuer}/.well-known/openid-configuration`);
    assert.equal(disco.issuer, issuer);
    assert.equal(disco.token_endpoint, `${issuer}/token`);
    assert.equal(disco.jwks_uri, `${issuer}/jwks`);
    assert.ok(disco.grant_types_supported.includes('client_credentials'));

    const jwks = await getJson(disco.jwks_uri);
    assert.equal(jwks.keys.length, 1);
    const [pub] = jwks.keys;
    assert.equal(pub.kty, 'EC');
    assert.equal(pub.crv, 'P-256');
    assert.equal(pub.alg, 'ES256');
    assert.equal(pub.kid, JSON.parse(fs.readFileSync(keyA, 'utf8')).kid);
    assert.equal(pub.d, undefined, 'JWKS must not leak the private key');

    let sample;
    for (const clientId of EXPECTED.keys()) {
      const { status, json } = await requestToken(disco.token_endpoint, clientId);
      assert.equal(status, 200, `${clientId}: ${JSON.stringify(json)}`);
      assert.equal(json.token_type, 'Bearer');
      assert.equal(json.expires_in, 600);
      const decoded = await checkToken(json.access_token, { issuer, jwks, clientId });
      if (clientId === 'gospital-patient') sample = decoded;
      console.log(`ok  ${clientId} roles=${JSON.stringify(decoded.payload.roles)}`);
    }

    // client_secret_basic and scope=api also work
    {
      const { status, json } = await requestToken(disco.token_endpoint, 'gospital-doctor', { basic: true, extra: { scope: 'api' } });
      assert.equal(status, 200, JSON.stringify(json));
      assert.equal(json.scope, 'api');
      await checkToken(json.access_token, { issuer, jwks, clientId: 'gospital-doctor', scope: 'api' });
      console.log('ok  gospital-doctor via client_secret_basic, scope=api');
    }
    // wrong secret is rejected
    {
      const res = await fetch(disco.token_endpoint, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'gospital-admin', client_secret: 'wrong' }),
      });
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error, 'invalid_client');
      console.log('ok  wrong secret -> 401 invalid_client');
    }

    const oldToken = (await requestToken(disco.token_endpoint, 'gospital-doctor')).json.access_token;
    assert.equal(await p.stop(), 0, 'clean exit on SIGTERM');
    assert.equal(p.stdout(), `READY ${issuer}\n`, 'stdout carries only the READY line');

    // --- rotation: same port, different key file -----------------------------
    p = start({ port, keyFile: keyB });
    const second = await p.ready;
    assert.equal(second.issuer, issuer, 'same issuer after restart');
    const jwksB = await getJson(`${issuer}/jwks`);
    assert.notEqual(jwksB.keys[0].kid, pub.kid, 'kid changed after rotation');
    const { json: rotated } = await requestToken(`${issuer}/token`, 'gospital-doctor');
    const { header: rotatedHeader } = await checkToken(rotated.access_token, { issuer, jwks: jwksB, clientId: 'gospital-doctor' });
    assert.equal(rotatedHeader.kid, jwksB.keys[0].kid);
    assert.equal(verifyWithNodeCrypto(oldToken, jwksB), false, 'old token not verifiable with new JWKS');
    console.log(`ok  rotation: kid ${pub.kid} -> ${jwksB.keys[0].kid} on port ${port}`);
    assert.equal(await p.stop(), 0);

    // --- reload the first key file: kid is stable ---------------------------
    p = start({ port, keyFile: keyA });
    await p.ready;
    const jwksA2 = await getJson(`${issuer}/jwks`);
    assert.equal(jwksA2.keys[0].kid, pub.kid, 'existing key file is reused');
    assert.ok(verifyWithNodeCrypto(oldToken, jwksA2), 'old token verifies again with the original key');
    console.log('ok  existing key file reloaded with the same kid');
    assert.equal(await p.stop(), 0);

    console.log('sample header  ', JSON.stringify(sample.header));
    console.log('sample payload ', JSON.stringify(sample.payload));
    console.log('PASS');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await main();
  process.exit(0);
} catch (err) {
  console.error('FAIL', err);
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  process.exit(1);
}
