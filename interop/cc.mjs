// cc.mjs: the client_credentials grant with oauth4webapi, from discovery.
//
//   LATCHKEY_URL=http://127.0.0.1:8080 CLIENT_ID=reports CLIENT_SECRET=... [SCOPE=...] node cc.mjs
//
// Discovery reads /.well-known/oauth-authorization-server (algorithm
// 'oauth2'); the client authenticates with client_secret_basic. Prints
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
  const response = await oauth.clientCredentialsGrantRequest(
    as, client, oauth.ClientSecretBasic(env('CLIENT_SECRET')), params, insecure,
  )
  const token = await oauth.processClientCredentialsResponse(as, client, response)
  return {
    metadata: { issuer: as.issuer, token_endpoint: as.token_endpoint, jwks_uri: as.jwks_uri },
    token,
  }
})
