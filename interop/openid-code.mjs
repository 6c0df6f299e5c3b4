// openid-code.mjs: the authorization code grant with PKCE (RFC 7636)
// and refresh tokens through openid-client in OAuth 2.0 mode, one step per
// run; interop/code_test.go drives the sign-in and consent pages between
// the steps and hands the callback URL back.
//
//   LATCHKEY_URL=... CLIENT_ID=... [CLIENT_SECRET=...] STEP=... node openid-code.mjs
//
// Without CLIENT_SECRET the client is public (openid-client's None()).
//   STEP=url     REDIRECT_URI=... [SCOPE=...] [PAR=1]: builds the authorization
//                URL (buildAuthorizationUrl, or buildAuthorizationUrlWithPAR)
//                with the library's own PKCE verifier and state; prints
//                {"url", "verifier", "state"}.
//   STEP=redeem  CALLBACK_URL=... VERIFIER=... STATE=... [REFRESH=1] [DPOP=1]:
//                authorizationCodeGrant (checks state, iss per RFC 9207, and
//                sends the verifier), then with REFRESH=1 refreshTokenGrant;
//                with DPOP=1 both carry proofs of a fresh key pair
//                (getDPoPHandle, RFC 9449); prints {"token", "refreshed",
//                "jkt"}.
//   STEP=refresh REFRESH_TOKEN=...: refreshTokenGrant; prints {"token"}.
import * as client from 'openid-client'
import { calculateJwkThumbprint, exportJWK } from 'jose'
import { env, issuerURL, main } from './lib.mjs'

main(async () => {
  const secret = process.env.CLIENT_SECRET
  const config = await client.discovery(
    issuerURL(), env('CLIENT_ID'), undefined,
    secret ? client.ClientSecretBasic(secret) : client.None(),
    { algorithm: 'oauth2', execute: [client.allowInsecureRequests] },
  )
  switch (env('STEP')) {
    case 'url': {
      const verifier = client.randomPKCECodeVerifier()
      const state = client.randomState()
      const params = {
        redirect_uri: env('REDIRECT_URI'),
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      }
      if (process.env.SCOPE) params.scope = process.env.SCOPE
      const url = process.env.PAR === '1'
        ? await client.buildAuthorizationUrlWithPAR(config, params)
        : client.buildAuthorizationUrl(config, params)
      return { url: url.href, verifier, state }
    }
    case 'redeem': {
      const out = {}
      let options
      if (process.env.DPOP === '1') {
        const keyPair = await client.randomDPoPKeyPair('ES256')
        options = { DPoP: client.getDPoPHandle(config, keyPair) }
        out.jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey))
      }
      const tokens = await client.authorizationCodeGrant(config, new URL(env('CALLBACK_URL')), {
        pkceCodeVerifier: env('VERIFIER'),
        expectedState: env('STATE'),
      }, undefined, options)
      out.token = { ...tokens }
      if (process.env.REFRESH === '1') {
        out.refreshed = { ...(await client.refreshTokenGrant(config, tokens.refresh_token, undefined, options)) }
      }
      return out
    }
    case 'refresh':
      return { token: { ...(await client.refreshTokenGrant(config, env('REFRESH_TOKEN'))) } }
    default:
      throw new Error('STEP must be url, redeem or refresh')
  }
})
