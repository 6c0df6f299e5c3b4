// code.mjs: the authorization response and the code's redemption with
// oauth4webapi: validateAuthResponse checks the callback (state, iss per
// RFC 9207, or the error it carries), then authorizationCodeGrantRequest
// with the redirect URI and PKCE verifier given.
//
//   LATCHKEY_URL=... CLIENT_ID=... CLIENT_SECRET=... CALLBACK_URL=... STATE=... \
//     [REDIRECT_URI=...] [VERIFIER=...] node code.mjs
//
// REDIRECT_URI defaults to the callback URL without its query. Prints
// {"token"}; exits 1 with the library's error (AuthorizationResponseError
// for an error callback, ResponseBodyError for a token endpoint refusal).
import * as oauth from 'oauth4webapi'
import { env, issuerURL, main } from './lib.mjs'

main(async () => {
  const issuer = issuerURL()
  const insecure = { [oauth.allowInsecureRequests]: true }
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  )
  const client = { client_id: env('CLIENT_ID') }
  const callback = new URL(env('CALLBACK_URL'))
  const params = oauth.validateAuthResponse(as, client, callback, env('STATE'))
  const redirectUri = process.env.REDIRECT_URI || callback.origin + callback.pathname
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretBasic(env('CLIENT_SECRET')),
    params, redirectUri, env('VERIFIER'), insecure)
  return { token: await oauth.processAuthorizationCodeResponse(as, client, response) }
})
