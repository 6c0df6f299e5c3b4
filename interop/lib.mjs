// Shared plumbing of the interop scripts: configuration from the
// environment, one JSON document on stdout, and failures that say what the
// library raised (never the client secret). interop_test.go runs them.

/** env returns the environment variable name, or exits 2 naming it when it is unset. */
export function env(name, fallback) {
  const v = process.env[name] ?? fallback
  if (v === undefined || v === '') {
    console.error(`${process.argv[1]}: ${name} is not set`)
    process.exit(2)
  }
  return v
}

/** issuerURL is LATCHKEY_URL (or argv[2]) as a URL without a trailing slash. */
export function issuerURL() {
  return new URL(env('LATCHKEY_URL', process.argv[2]).replace(/\/+$/, ''))
}

/** print writes one JSON document on stdout. */
export function print(doc) {
  process.stdout.write(JSON.stringify(doc) + '\n')
}

/**
 * fail prints what the library raised as JSON ({"failed": {...}}) and
 * exits 1: its class, code, message, the message of the error it wraps
 * (cause) and, for an OAuth error answer, the error, error_description
 * and HTTP status.
 */
export async function fail(err) {
  const f = {
    name: err?.name ?? typeof err,
    code: err?.code,
    message: String(err?.message ?? err),
  }
  for (const k of ['error', 'error_description', 'status']) {
    if (err?.[k] !== undefined) f[k] = err[k]
  }
  // openid-client wraps what oauth4webapi raised: name the inner check.
  if (err?.cause instanceof Error) f.cause = String(err.cause.message)
  // oauth4webapi raises WWWAuthenticateChallengeError, before it reads the
  // body, for a 401 carrying WWW-Authenticate (which RFC 6749 §5.2 demands
  // of a token endpoint refusing Basic authentication): report the
  // challenges and the RFC 6749 error the unread body carries.
  if (err?.name === 'WWWAuthenticateChallengeError') {
    f.challenges = err.cause
    if (err.response && !err.response.bodyUsed) {
      try {
        const body = await err.response.json()
        for (const k of ['error', 'error_description']) {
          if (typeof body?.[k] === 'string') f[k] = body[k]
        }
      } catch {
        f.body = 'not JSON'
      }
    }
  }
  print({ failed: f })
  process.exit(1)
}

/** main runs fn and reports its result or its failure. */
export function main(fn) {
  fn().then(print, (err) => fail(err).catch((e) => {
    console.error(e)
    process.exit(1)
  }))
}
