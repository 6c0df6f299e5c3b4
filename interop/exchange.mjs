// exchange.mjs: token exchange (RFC 8693) with oauth4webapi's generic token
// endpoint request.
//
//   LATCHKEY_URL=... CLIENT_ID=... CLIENT_SECRET=... SUBJECT_TOKEN=... \
//     [ACTOR_TOKEN=...] [SCOPE=...] [AUDIENCE=...] node exchange.mjs
//
// Prints {"token": <token response>}.
import * as oauth from 'oauth4webapi'
import { env, issuerURL, main } from './lib.mjs'

const ACCESS = 'urn:ietf:params:oauth:token-type:access_token'

main(async () => {
  const issuer = issuerURL()
  const insecure = { [oauth.allowInsecureRequests]: true }
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  )
  const client = { client_id: env('CLIENT_ID') }
  const params = new URLSearchParams({ subject_token: env('SUBJECT_TOKEN'), subject_token_type: ACCESS })
  if (process.env.ACTOR_TOKEN) {
    params.set('actor_token', process.env.ACTOR_TOKEN)
    params.set('actor_token_type', ACCESS)
  }
  if (process.env.SCOPE) params.set('scope', process.env.SCOPE)
  if (process.env.AUDIENCE) params.set('audience', process.env.AUDIENCE)
  const response = await oauth.genericTokenEndpointRequest(as, client, oauth.ClientSecretBasic(env('CLIENT_SECRET')),
    'urn:ietf:params:oauth:grant-type:token-exchange', params, insecure)
  const token = await oauth.processGenericTokenEndpointResponse(as, client, response)
  return { token }
})
