// webhook.mjs: a latchkey webhook delivery checked with the standardwebhooks
// package, as a receiver would.
//
//   SECRET=whsec_... HEADERS='{"webhook-id":...}' BODY='{"type":...}' node webhook.mjs
//
// Prints {"verified": <the payload>}; exits 1 (the library's error as
// JSON) when the signature or the timestamp does not check out.
import { Webhook } from 'standardwebhooks'
import { env, main } from './lib.mjs'

main(async () => {
  const wh = new Webhook(env('SECRET'))
  return { verified: wh.verify(env('BODY'), JSON.parse(env('HEADERS'))) }
})
