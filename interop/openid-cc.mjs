// openid-cc.mjs: the client_credentials grant with openid-client, from
// discovery of /.well-known/oauth-authorization-server.
//
//   LATCHKEY_URL=http://127.0.0.1:8080 CLIENT_ID=reports CLIENT_SECRET=... \
//     [SCOPE=...] [AUDIENCE=...] [CLIENT_AUTH=basic|post] node openid-cc.mjs
//
// Prints {"issuer", "token": <token response>}.
import * as client from 'openid-client'
import { env, issuerURL, main } from './lib.mjs'

main(async () => {
  const config = await client.discovery(
    issuerURL(), env('CLIENT_ID'), undefined,
    process.env.CLIENT_AUTH === 'post'
      ? client.ClientSecretPost(env('CLIENT_SECRET'))
      : client.ClientSecretBasic(env('CLIENT_SECRET')),
    { algorithm: 'oauth2', execute: [client.allowInsecureRequests] },
  )
  const params = {}
  if (process.env.SCOPE) params.scope = process.env.SCOPE
  if (process.env.AUDIENCE) params.audience = process.env.AUDIENCE
  const tokens = await client.clientCredentialsGrant(config, params)
  // The helpers (expiresIn, claims) are functions: keep the response's own fields.
  return { issuer: config.serverMetadata().issuer, token: { ...tokens } }
})
