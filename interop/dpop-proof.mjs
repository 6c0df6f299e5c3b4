// dpop-proof.mjs: a DPoP proof (RFC 9449 §4.2) made by hand with jose's
// SignJWT — the libraries only make correct ones — so that the tests can
// send proofs that are wrong in one way each.
//
//   HTM=POST HTU=http://127.0.0.1:8080/oauth2/token [JTI=...] node dpop-proof.mjs
//
// Signs with a fresh ES256 key whose public JWK rides in the header.
// Prints {"proof", "jkt"} (jkt: the key's RFC 7638 thumbprint).
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose'
import { randomUUID } from 'node:crypto'
import { env, main } from './lib.mjs'

main(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256')
  const jwk = await exportJWK(publicKey)
  const proof = await new SignJWT({ htm: env('HTM'), htu: env('HTU') })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
    .setJti(process.env.JTI || randomUUID())
    .setIssuedAt()
    .sign(privateKey)
  return { proof, jkt: await calculateJwkThumbprint(jwk) }
})
