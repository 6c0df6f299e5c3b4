// cc.mjs: the client_credentials grant with oauth4webapi, from discovery.
//
//   LATCHKEY_URL=http://127.0.0.1:8080 CLIENT_ID=reports CLIENT_SECRET=... \
//     [SCOPE=...] [AUDIENCE=...] [CLIENT_AUTH=basic|post] [DPOP_PROOF=...] node cc.mjs
//
// Discovery reads /.well-known/oauth-authorization-server (algorithm
// 'oauth2'); the client authenticates with client_secret_basic (or
// client_secret_post with CLIENT_AUTH=post). DPOP_PROOF, a proof made
// elsewhere (dpop-proof.mjs), is sent as the DPoP header as it is. Prints
// {"metadata": {issuer, token_endpoint, jwks_uri}, "token": <token response>}.
import * as oauth from 'oauth4webapi'
import { env, issuerURL, main } from './lib.mjs'

main(async () => {
  const issuer = issuerURL()
  // latchkey under test listens on plain http://127.0.0.1.
  const insecure = { [oauth.allowInsecureRequests]: true }
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  )
  const client = { client_id: env('CLIENT_ID') }
  const params = new URLSearchParams()
  if (process.env.SCOPE) params.set('scope', process.env.SCOPE)
  if (process.env.AUDIENCE) params.set('audience', process.env.AUDIENCE)
  const auth = process.env.CLIENT_AUTH === 'post'
    ? oauth.ClientSecretPost(env('CLIENT_SECRET'))
    : oauth.ClientSecretBasic(env('CLIENT_SECRET'))
  const options = { ...insecure }
  if (process.env.DPOP_PROOF) options.headers = { DPoP: process.env.DPOP_PROOF }
  const response = await oauth.clientCredentialsGrantRequest(as, client, auth, params, options)
  const token = await oauth.processClientCredentialsResponse(as, client, response)
  return {
    metadata: { issuer: as.issuer, token_endpoint: as.token_endpoint, jwks_uri: as.jwks_uri },
    token,
  }
})
