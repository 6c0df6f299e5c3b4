// verify.mjs: an access token checked with jose as a resource server would.
//
//   LATCHKEY_URL=http://127.0.0.1:8080 TOKEN=eyJ... AUDIENCE=https://api.example node verify.mjs
//
// Reads the issuer and jwks_uri from /.well-known/oauth-authorization-server,
// then jwtVerify with createRemoteJWKSet, the metadata's issuer, AUDIENCE
// and typ at+jwt (RFC 9068). Prints {"issuer", "protectedHeader", "payload"};
// exits 1 (jose's error as JSON) when any check fails.
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { env, issuerURL, main } from './lib.mjs'

main(async () => {
  const base = issuerURL()
  const res = await fetch(new URL('/.well-known/oauth-authorization-server', base))
  if (!res.ok) throw new Error(`metadata: HTTP ${res.status}`)
  const meta = await res.json()
  if (typeof meta.jwks_uri !== 'string' || typeof meta.issuer !== 'string') {
    throw new Error('metadata lacks issuer or jwks_uri')
  }
  const jwks = createRemoteJWKSet(new URL(meta.jwks_uri))
  const { payload, protectedHeader } = await jwtVerify(env('TOKEN'), jwks, {
    issuer: meta.issuer,
    audience: env('AUDIENCE'),
    typ: 'at+jwt',
  })
  return { issuer: meta.issuer, protectedHeader, payload }
})
