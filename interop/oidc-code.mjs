// oidc-code.mjs: OpenID Connect sign-in through openid-client in OIDC
// mode (discovery of /.well-known/openid-configuration), one step per run;
// interop/oidc_test.go drives the sign-in and consent pages between the
// steps and hands the callback URL back.
//
//   LATCHKEY_URL=... CLIENT_ID=... CLIENT_SECRET=... STEP=... node oidc-code.mjs
//
//   STEP=url     REDIRECT_URI=... [PROMPT=...]: builds the authorization URL
//                (buildAuthorizationUrl) with scope "openid profile email",
//                the library's own PKCE verifier, state and nonce; prints
//                {"url", "verifier", "state", "nonce", "metadata"}.
//   STEP=redeem  CALLBACK_URL=... VERIFIER=... STATE=... NONCE=... [REFRESH=1]:
//                authorizationCodeGrant with idTokenExpected and
//                expectedNonce (the library validates the ID token's iss,
//                aud, azp, exp, iat, nonce, auth_time, and with
//                enableNonRepudiationChecks its signature against the
//                JWKS), fetchUserInfo with the ID token's sub as the
//                expected subject, then with REFRESH=1 refreshTokenGrant
//                (its ID token validated likewise); prints {"token",
//                "header", "claims", "userinfo", "refreshed",
//                "refreshed_claims"}.
//   STEP=logout  ID_TOKEN=... POST_LOGOUT_REDIRECT_URI=... [STATE=...]:
//                buildEndSessionUrl (RP-Initiated Logout 1.0: the discovered
//                end_session_endpoint with id_token_hint,
//                post_logout_redirect_uri, state and the library's
//                client_id); prints {"url", "end_session_endpoint"}.
import * as client from 'openid-client'
import { decodeProtectedHeader } from 'jose'
import { env, issuerURL, main } from './lib.mjs'

main(async () => {
  const config = await client.discovery(
    issuerURL(), env('CLIENT_ID'), undefined, client.ClientSecretBasic(env('CLIENT_SECRET')),
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] },
  )
  switch (env('STEP')) {
    case 'url': {
      const verifier = client.randomPKCECodeVerifier()
      const state = client.randomState()
      const nonce = client.randomNonce()
      const params = {
        redirect_uri: env('REDIRECT_URI'),
        scope: 'openid profile email',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      }
      if (process.env.PROMPT) params.prompt = process.env.PROMPT
      const url = client.buildAuthorizationUrl(config, params)
      return { url: url.href, verifier, state, nonce, metadata: config.serverMetadata() }
    }
    case 'redeem': {
      const tokens = await client.authorizationCodeGrant(config, new URL(env('CALLBACK_URL')), {
        pkceCodeVerifier: env('VERIFIER'),
        expectedState: env('STATE'),
        expectedNonce: env('NONCE'),
        idTokenExpected: true,
      })
      const claims = tokens.claims()
      const out = {
        token: { ...tokens },
        header: decodeProtectedHeader(tokens.id_token),
        claims,
        userinfo: await client.fetchUserInfo(config, tokens.access_token, claims.sub),
      }
      if (process.env.REFRESH === '1') {
        const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
        out.refreshed = { ...refreshed }
        out.refreshed_claims = refreshed.claims() ?? null
      }
      return out
    }
    case 'logout': {
      const params = {
        id_token_hint: env('ID_TOKEN'),
        post_logout_redirect_uri: env('POST_LOGOUT_REDIRECT_URI'),
      }
      if (process.env.STATE) params.state = process.env.STATE
      const url = client.buildEndSessionUrl(config, params)
      return { url: url.href, end_session_endpoint: config.serverMetadata().end_session_endpoint }
    }
    default:
      throw new Error('STEP must be url, redeem or logout')
  }
})
