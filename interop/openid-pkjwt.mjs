// openid-pkjwt.mjs: the client_credentials grant with openid-client,
// authenticating with private_key_jwt (RFC 7523): openid-client signs the
// client assertion itself with the private key given.
//
//   LATCHKEY_URL=http://127.0.0.1:8080 CLIENT_ID=signer PRIVATE_JWK='{"kty":"EC",...}' \
//     [SCOPE=...] node openid-pkjwt.mjs
//
// Prints {"issuer", "token": <token response>}.
import * as client from 'openid-client'
import { importJWK } from 'jose'
import { env, issuerURL, main } from './lib.mjs'

main(async () => {
  const jwk = JSON.parse(env('PRIVATE_JWK'))
  const key = await importJWK(jwk, jwk.alg)
  const config = await client.discovery(
    issuerURL(), env('CLIENT_ID'), undefined,
    client.PrivateKeyJwt({ key, kid: jwk.kid }),
    { algorithm: 'oauth2', execute: [client.allowInsecureRequests] },
  )
  const params = {}
  if (process.env.SCOPE) params.scope = process.env.SCOPE
  const tokens = await client.clientCredentialsGrant(config, params)
  return { issuer: config.serverMetadata().issuer, token: { ...tokens } }
})
