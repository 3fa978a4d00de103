// Body parsing, routing and headers shared by every route: spec simplejwt-wire.md, transcripts.md §F rows 54–63
import t from 'tap'
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify'
import fp from 'fastify-plugin'
import appPlugin, { serverOptions, serverTimeouts } from '../../src/app.js'
import { isClientAbort } from '../../plugins/error-handler.js'
import { bearer, build, Clock, createUser, FIXED_MS, obtainPair, resetDb, testConfig, testDatabase } from '../helper.js'

const clock = new Clock()
const database = await testDatabase(t)
const app = await build(t, {}, { clock, database })
t.beforeEach(async () => {
  clock.ms = FIXED_MS
  await resetDb(app)
})

const JSON_TYPE = /^application\/json(; charset=utf-8)?$/
const CREDENTIALS = '{"username":"spiderman","password":"underoos"}'
const TOKEN_ROUTES = ['/api/token/', '/api/token/refresh/', '/api/token/verify/']
/** Each token route's only field, in the order of TOKEN_ROUTES. */
const REQUIRED: Array<Record<string, string[]>> = [
  { username: ['This field is required.'], password: ['This field is required.'] },
  { refresh: ['This field is required.'] },
  { token: ['This field is required.'] }
]

function post (url: string, payload: string, contentType?: string) {
  const headers = contentType === undefined ? {} : { 'content-type': contentType }
  return app.inject({ method: 'POST', url, payload, headers })
}

/** A multipart/form-data body built by hand, as a browser form would send it. */
function multipart (fields: Record<string, string>, boundary = '----fsjFormBoundary7MA4YWxkTrZu0gW') {
  const parts = Object.entries(fields).map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
  return { payload: parts.join('') + `--${boundary}--\r\n`, contentType: `multipart/form-data; boundary=${boundary}` }
}

/** Just the assertion this helper needs, so any tap Test fits. */
type Equal = Pick<typeof t, 'equal'>

function assertDjangoHeaders (t: Equal, res: LightMyRequestResponse, what: string) {
  t.equal(res.headers['x-frame-options'], 'DENY', `${what}: X-Frame-Options`)
  t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: X-Content-Type-Options`)
  t.equal(res.headers['referrer-policy'], 'same-origin', `${what}: Referrer-Policy`)
}

t.test('POST /api/token/: malformed JSON is a 400 JSON parse error (row 54)', async t => {
  for (const url of TOKEN_ROUTES) {
    for (const body of ['{"username": "spiderman", ', '{', '{"a":1,}', "{'username':'x'}", 'nul', '{"a":1}x']) {
      const res = await post(url, body, 'application/json')
      t.equal(res.statusCode, 400, `${url} ${body}`)
      t.match(res.headers['content-type'], JSON_TYPE)
      const json = res.json()
      t.same(Object.keys(json), ['detail'])
      t.match(json.detail, /^JSON parse error - ./)
      t.equal(res.headers['www-authenticate'], undefined)
    }
  }
})

t.test('POST /api/token/: a JSON body that is not an object names its Python type (row 58)', async t => {
  const cases: Array<[string, string]> = [
    ['[]', 'list'], ['[{"username":"spiderman"}]', 'list'], ['42', 'int'], ['0', 'int'], ['-7', 'int'],
    ['4.2', 'float'], ['-0.5', 'float'], ['"spiderman"', 'str'], ['""', 'str'], ['true', 'bool'], ['false', 'bool']
  ]
  for (const url of TOKEN_ROUTES) {
    for (const [body, type] of cases) {
      const res = await post(url, body, 'application/json')
      t.equal(res.statusCode, 400, `${url} ${body}`)
      t.equal(res.body, `{"non_field_errors":["Invalid data. Expected a dictionary, but got ${type}."]}`, `${url} ${body}`)
    }
  }
})

t.test('POST /api/token/: a JSON number written with a fraction or exponent is a Python float', async t => {
  for (const body of ['1.0', '1e3', '-2.00']) {
    const res = await post('/api/token/', body, 'application/json')
    t.equal(res.statusCode, 400)
    t.equal(res.body, '{"non_field_errors":["Invalid data. Expected a dictionary, but got float."]}', body)
  }
})

t.test('POST /api/token/: a JSON null body is "No data provided" (row 59)', async t => {
  for (const url of TOKEN_ROUTES) {
    const res = await post(url, 'null', 'application/json')
    t.equal(res.statusCode, 400)
    t.equal(res.body, '{"non_field_errors":["No data provided"]}')
  }
})

t.test('POST /api/token/: an empty body is an empty form: every field is required', async t => {
  for (const [i, url] of TOKEN_ROUTES.entries()) {
    for (const contentType of ['application/json', 'application/x-www-form-urlencoded', undefined]) {
      const res = await post(url, '', contentType)
      t.equal(res.statusCode, 400, `${url} ${contentType}`)
      t.equal(res.body, JSON.stringify(REQUIRED[i]), `${url} ${contentType}`)
    }
  }
})

t.test('POST /api/token/: a whitespace-only JSON body is malformed JSON', async t => {
  const res = await post('/api/token/', '  \n', 'application/json')
  t.equal(res.statusCode, 400)
  t.match(res.json(), { detail: /^JSON parse error - / })
})

t.test('POST /api/token/: deeply nested JSON under the body limit is a 400 parse error, not a crash (spec D7)', async t => {
  for (const body of ['['.repeat(10000), '{"a":'.repeat(10000), '['.repeat(60000), `{"username":${'['.repeat(1000)}`]) {
    const res = await post('/api/token/', body, 'application/json')
    t.equal(res.statusCode, 400, `${body.slice(0, 8)}… (${body.length})`)
    t.match(res.headers['content-type'], JSON_TYPE)
    t.same(Object.keys(res.json()), ['detail'])
    t.match(res.json().detail, /^JSON parse error - ./)
  }
  // Nesting in a string is no nesting at all.
  const inString = await post('/api/token/', JSON.stringify({ username: '['.repeat(100), password: '{'.repeat(100) }), 'application/json')
  t.equal(inString.statusCode, 401)
})

t.test('POST /api/token/: an unsupported Content-Type is 415 naming it (row 55)', async t => {
  for (const url of TOKEN_ROUTES) {
    for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/xml', 'application/vnd.api+json', 'text/html']) {
      const res = await post(url, CREDENTIALS, type)
      t.equal(res.statusCode, 415, `${url} ${type}`)
      t.equal(res.body, JSON.stringify({ detail: `Unsupported media type "${type}" in request.` }))
      t.match(res.headers['content-type'], JSON_TYPE)
      t.equal(res.headers['www-authenticate'], undefined)
    }
  }
})

t.test('POST /api/token/: a body without any Content-Type is 415 with "" (row 56)', async t => {
  await createUser(app)
  for (const url of TOKEN_ROUTES) {
    const res = await post(url, CREDENTIALS)
    t.equal(res.statusCode, 415, url)
    t.equal(res.body, '{"detail":"Unsupported media type \\"\\" in request."}')
    t.equal(res.headers['www-authenticate'], undefined)
  }
})

t.test('POST /api/token/: application/x-www-form-urlencoded is accepted on obtain, refresh and verify (row 57)', async t => {
  await createUser(app)
  const form = 'application/x-www-form-urlencoded'
  const login = await post('/api/token/', 'username=spiderman&password=underoos', form)
  t.equal(login.statusCode, 200)
  t.same(Object.keys(login.json()), ['refresh', 'access'])
  const { refresh, access } = login.json()
  const refreshed = await post('/api/token/refresh/', `refresh=${encodeURIComponent(refresh)}`, form)
  t.equal(refreshed.statusCode, 200)
  t.same(Object.keys(refreshed.json()), ['access'])
  const verified = await post('/api/token/verify/', `token=${access}`, form)
  t.equal(verified.statusCode, 200)
  t.equal(verified.body, '{}')

  t.equal((await post('/api/token/', 'username=+spiderman+&password=%20underoos%20', form)).statusCode, 200, 'trimmed, + is a space')
  t.equal((await post('/api/token/', 'username=spiderman&password=wrong', form)).statusCode, 401)
  const blank = await post('/api/token/', 'username=&password=', form)
  t.equal(blank.body, '{"username":["This field may not be blank."],"password":["This field may not be blank."]}')
  const missing = await post('/api/token/', 'username=spiderman', form)
  t.equal(missing.body, '{"password":["This field is required."]}')
  t.equal((await post('/api/token/refresh/', 'refresh=garbage', form)).body, '{"detail":"Token is invalid or expired","code":"token_not_valid"}')
})

t.test('POST /api/token/: a repeated form field takes its last value, as Django\'s QueryDict does', async t => {
  await createUser(app)
  const res = await post('/api/token/', 'username=nobody&username=spiderman&password=underoos', 'application/x-www-form-urlencoded')
  t.equal(res.statusCode, 200)
})

t.test('POST /api/token/: multipart/form-data is accepted on obtain, refresh and verify', async t => {
  await createUser(app)
  const login = multipart({ username: 'spiderman', password: 'underoos' })
  const res = await post('/api/token/', login.payload, login.contentType)
  t.equal(res.statusCode, 200)
  t.same(Object.keys(res.json()), ['refresh', 'access'])
  const { refresh, access } = res.json()
  const r = multipart({ refresh }, 'AaB03x')
  const refreshed = await post('/api/token/refresh/', r.payload, r.contentType)
  t.equal(refreshed.statusCode, 200)
  t.same(Object.keys(refreshed.json()), ['access'])
  const v = multipart({ token: access })
  const verified = await post('/api/token/verify/', v.payload, v.contentType)
  t.equal(verified.statusCode, 200)
  t.equal(verified.body, '{}')

  const missing = multipart({ username: 'spiderman' })
  t.equal((await post('/api/token/', missing.payload, missing.contentType)).body, '{"password":["This field is required."]}')
  const wrong = multipart({ username: 'spiderman', password: 'wrong' })
  t.equal((await post('/api/token/', wrong.payload, wrong.contentType)).statusCode, 401)
  const padded = multipart({ username: ' spiderman ', password: ' underoos ' })
  t.equal((await post('/api/token/', padded.payload, padded.contentType)).statusCode, 200, 'trimmed')
})

t.test('POST /api/token/: a malformed multipart body is a 400, never a server error', async t => {
  const noBoundary = await post('/api/token/', 'garbage', 'multipart/form-data')
  t.equal(noBoundary.statusCode, 400, 'no boundary')
  t.equal(noBoundary.body, '{"detail":"Multipart form parse error - Invalid boundary in multipart: None"}')
  const truncated = await post('/api/token/', '--AaB03x\r\nContent-Disposition: form-data; name="username"\r\n\r\nspider', 'multipart/form-data; boundary=AaB03x')
  t.equal(truncated.statusCode, 400, 'truncated body')
  t.match(truncated.json(), { detail: /^Multipart form parse error - / })
})

t.test('POST /api/token/: a multipart boundary is checked as Django checks it (RFC 2046, at most 201 characters)', async t => {
  await createUser(app)
  for (const length of [257, 300, 1000, 202]) {
    const boundary = 'b'.repeat(length)
    const form = multipart({ username: 'spiderman', password: 'underoos' }, boundary)
    const res = await post('/api/token/', form.payload, form.contentType)
    t.equal(res.statusCode, 400, `${length} characters: 400, not a server error`)
    t.equal(res.body, JSON.stringify({ detail: `Multipart form parse error - Invalid boundary in multipart: ${boundary}` }))
    assertDjangoHeaders(t, res, `boundary of ${length}`)
  }
  for (const boundary of ['b'.repeat(201), 'a b', '\'\'()+_,-./:=?']) {
    const form = multipart({ username: 'spiderman', password: 'underoos' }, boundary)
    t.equal((await post('/api/token/', form.payload, `multipart/form-data; boundary="${boundary}"`)).statusCode, 200, `"${boundary.slice(0, 10)}": valid`)
  }
  const spaced = multipart({ username: 'spiderman', password: 'underoos' }, 'ends with a space ')
  const invalid = await post('/api/token/', spaced.payload, 'multipart/form-data; boundary="ends with a space "')
  t.equal(invalid.body, '{"detail":"Multipart form parse error - Invalid boundary in multipart: ends with a space "}')
  const latin = multipart({ username: 'spiderman', password: 'underoos' }, 'caf\u00e9')
  const nonAscii = await post('/api/token/', latin.payload, 'multipart/form-data; boundary=caf\u00e9')
  t.equal(nonAscii.statusCode, 400)
  t.equal(nonAscii.json().detail, 'Multipart form parse error - Invalid non-ASCII Content-Type in multipart: multipart/form-data; boundary=caf\u00e9')
  const empty = await post('/api/token/', '', 'multipart/form-data')
  t.equal(empty.body, JSON.stringify(REQUIRED[0]), 'an empty body is an empty form, whatever the boundary: DRF parses nothing')
})

t.test('POST /api/token/: a multipart form of 18 KB (under the limit) is answered like the same JSON body', async t => {
  await createUser(app)
  const form = multipart({ username: 'spiderman', password: 'underoos', padding: 'p'.repeat(18 * 1024) })
  const res = await post('/api/token/', form.payload, form.contentType)
  t.equal(res.statusCode, 200)
  const json = await post('/api/token/', JSON.stringify({ username: 'spiderman', password: 'underoos', padding: 'p'.repeat(18 * 1024) }), 'application/json')
  t.equal(json.statusCode, 200)
  const near = multipart({ username: 'spiderman', password: 'underoos', padding: 'p'.repeat(63 * 1024) })
  t.equal((await post('/api/token/', near.payload, near.contentType)).statusCode, 200, '63 KiB of padding')
})

t.test('POST /api/token/: a file in a multipart form is no string, as in DRF\'s request.data; too many fields or files are a 400', async t => {
  await createUser(app)
  const boundary = 'AaB03x'
  const file = `--${boundary}\r\nContent-Disposition: form-data; name="username"\r\n\r\nspiderman\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="password"; filename="p.txt"\r\nContent-Type: text/plain\r\n\r\nunderoos\r\n--${boundary}--\r\n`
  const res = await post('/api/token/', file, `multipart/form-data; boundary=${boundary}`)
  t.equal(res.statusCode, 400)
  t.equal(res.body, '{"password":["Not a valid string."]}')
  const extraFile = file.replace('name="password"; filename', 'name="avatar"; filename').replace('--AaB03x--', `--${boundary}\r\nContent-Disposition: form-data; name="password"\r\n\r\nunderoos\r\n--${boundary}--`)
  t.equal((await post('/api/token/', extraFile, `multipart/form-data; boundary=${boundary}`)).statusCode, 200, 'a file under another name is ignored')

  const fields = Array.from({ length: 1001 }, (_, i) => `--${boundary}\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nx\r\n`).join('') + `--${boundary}--\r\n`
  const many = await post('/api/token/', fields, `multipart/form-data; boundary=${boundary}`)
  t.equal(many.statusCode, 400)
  t.equal(many.body, '{"detail":"The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS."}')
  const files = Array.from({ length: 101 }, (_, i) => `--${boundary}\r\nContent-Disposition: form-data; name="f${i}"; filename="f"\r\n\r\nx\r\n`).join('') + `--${boundary}--\r\n`
  const manyFiles = await post('/api/token/', files, `multipart/form-data; boundary=${boundary}`)
  t.equal(manyFiles.statusCode, 400)
  t.equal(manyFiles.body, '{"detail":"The number of files exceeded settings.DATA_UPLOAD_MAX_NUMBER_FILES."}')
  const empty = await post('/api/token/', '', `multipart/form-data; boundary=${boundary}`)
  t.equal(empty.body, JSON.stringify(REQUIRED[0]), 'an empty multipart body is an empty form')
})

t.test('POST /api/token/: multipart parts as Django reads them; odd bodies are answered 4xx at once', async t => {
  await createUser(app)
  const B = 'AaB03x'
  const type = `multipart/form-data; boundary=${B}`
  const part = (disposition: string, value: string, extra = '') => `--${B}\r\nContent-Disposition: form-data; ${disposition}\r\n${extra}\r\n${value}\r\n`
  const asField = part('name="username"; filename=""', 'spiderman') + part('name=" password "', 'underoos', 'Content-Type: application/octet-stream\r\n') + `--${B}--\r\n`
  t.equal((await post('/api/token/', asField, type)).statusCode, 200, 'an empty filename or a binary type alone make no file; names are stripped')
  const odd = ['garbage', `--${B}`, `--${B}\r\n\r\n`, part('name="a"', 'b'), `--${B}--\r\n${part('name="a"', 'b')}`, '\u0000'.repeat(100),
    `--${B}\r\n${'X: y\r\n'.repeat(200)}\r\nx\r\n--${B}--\r\n`, `--${B}\r\nContent-Disposition: form-data; name="a"\r\n${'h'.repeat(60000)}`]
  for (const body of odd) {
    const res = await post('/api/token/', body, type)
    t.equal(res.statusCode, 400, JSON.stringify(body.slice(0, 30)))
  }
})

t.test('POST /api/token/: invalid UTF-8 in a JSON body is a 400 parse error in Python\'s words, not a silent U+FFFD', async t => {
  await createUser(app)
  const cases: Array<[Buffer, string]> = [
    [Buffer.concat([Buffer.from('{"username":"spiderman","password":"under'), Buffer.from([0xff]), Buffer.from('oos"}')]), "'utf-8' codec can't decode byte 0xff in position 41: invalid start byte"],
    [Buffer.concat([Buffer.from('{"username":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), "'utf-8' codec can't decode byte 0xc3 in position 13: invalid continuation byte"],
    [Buffer.concat([Buffer.from('{"username":"'), Buffer.from([0xe2, 0x82, 0x28]), Buffer.from('"}')]), "'utf-8' codec can't decode bytes in position 13-14: invalid continuation byte"],
    [Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), "'utf-8' codec can't decode byte 0xed in position 6: invalid continuation byte"],
    [Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), "'utf-8' codec can't decode byte 0xc0 in position 6: invalid start byte"]
  ]
  for (const url of TOKEN_ROUTES) {
    for (const [payload, message] of cases) {
      const res = await app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } })
      t.equal(res.statusCode, 400, `${url}: ${message}`)
      t.equal(res.body, JSON.stringify({ detail: `JSON parse error - ${message}` }))
    }
  }
  // Valid UTF-8 of every length still logs in; a sequence cut short by the end of the body is left undecoded, as DRF's stream reader does.
  t.equal((await app.inject({ method: 'POST', url: '/api/token/', payload: Buffer.from('{"username":"spiderman","password":"underoos","x":"é€😀"}'), headers: { 'content-type': 'application/json' } })).statusCode, 200)
  const cut = Buffer.concat([Buffer.from('{"username":"spiderman","password":"underoos"}'), Buffer.from([0xe2, 0x82])])
  t.equal((await app.inject({ method: 'POST', url: '/api/token/', payload: cut, headers: { 'content-type': 'application/json' } })).statusCode, 200)
  // A byte order mark is refused, as Python's json refuses it.
  const bom = await app.inject({ method: 'POST', url: '/api/token/', payload: Buffer.from('\ufeff{"username":"spiderman","password":"underoos"}'), headers: { 'content-type': 'application/json' } })
  t.equal(bom.statusCode, 400)
  t.match(bom.json(), { detail: /^JSON parse error - / })
})

t.test('POST /api/token/: a 1 MB body is refused with 413 JSON', async t => {
  const big = 'x'.repeat(1024 * 1024)
  const cases: Array<[string, string]> = [
    [JSON.stringify({ username: 'spiderman', password: big }), 'application/json'],
    [`username=spiderman&password=${big}`, 'application/x-www-form-urlencoded'],
    [big, 'application/json']
  ]
  for (const url of TOKEN_ROUTES) {
    for (const [payload, contentType] of cases) {
      const res = await post(url, payload, contentType)
      t.equal(res.statusCode, 413, `${url} ${contentType}`)
      t.match(res.headers['content-type'], JSON_TYPE)
      t.equal(res.body, '{"detail":"Request body is too large."}')
      assertDjangoHeaders(t, res, '413')
    }
  }
})

t.test('POST /api/token/: a 1 MB multipart body is refused with 413 too', async t => {
  await createUser(app)
  const padded = multipart({ username: 'spiderman', password: 'underoos', padding: 'x'.repeat(1024 * 1024) })
  const res = await post('/api/token/', padded.payload, padded.contentType)
  t.equal(res.statusCode, 413)
  t.equal(res.body, '{"detail":"Request body is too large."}')
})

t.test('GET /api/nope/: unknown routes are a JSON 404 (spec D11, row 62)', async t => {
  for (const [method, url] of [['GET', '/api/nope/'], ['GET', '/api/nope'], ['POST', '/api/nope/'], ['GET', '/'], ['GET', '/api/token/nope/'], ['DELETE', '/api/'], ['GET', '/api/token/refresh/extra']] as const) {
    const res = await app.inject({ method, url })
    t.equal(res.statusCode, 404, `${method} ${url}`)
    t.equal(res.body, '{"detail":"Not found."}')
    t.match(res.headers['content-type'], JSON_TYPE)
    assertDjangoHeaders(t, res, `404 ${url}`)
  }
})

t.test('GET /api/token/: another method on a known path is 405 with Allow (row 11)', async t => {
  for (const url of TOKEN_ROUTES) {
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE'] as const) {
      const res = await app.inject({ method, url })
      t.equal(res.statusCode, 405, `${method} ${url}`)
      t.equal(res.body, `{"detail":"Method \\"${method}\\" not allowed."}`)
      t.equal(res.headers.allow, 'POST, OPTIONS')
      t.match(res.headers['content-type'], JSON_TYPE)
      t.equal(res.headers['www-authenticate'], undefined)
    }
  }
  const head = await app.inject({ method: 'HEAD', url: '/api/token/' })
  t.equal(head.statusCode, 405)
  t.equal(head.headers.allow, 'POST, OPTIONS')
})

t.test('POST /api/hello/: 405 with an authenticated request (row 52)', async t => {
  await createUser(app)
  const { access } = await obtainPair(app)
  const res = await app.inject({ method: 'POST', url: '/api/hello/', headers: bearer(access), payload: {} })
  t.equal(res.statusCode, 405)
  t.equal(res.body, '{"detail":"Method \\"POST\\" not allowed."}')
  t.equal(res.headers.allow, 'GET, HEAD, OPTIONS')
})

t.test('POST /api/hello/: without credentials DRF authenticates before it looks at the method', async t => {
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS'] as const) {
    const res = await app.inject({ method, url: '/api/hello/' })
    t.equal(res.statusCode, 401, method)
    t.equal(res.body, '{"detail":"Authentication credentials were not provided."}', method)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  }
})

t.test('OPTIONS /api/token/: 200 with Allow on every route', async t => {
  for (const url of TOKEN_ROUTES) {
    const res = await app.inject({ method: 'OPTIONS', url })
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers.allow, 'POST, OPTIONS')
    t.match(res.headers['content-type'], JSON_TYPE)
    t.match(res.json(), { parses: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'] })
    assertDjangoHeaders(t, res, `OPTIONS ${url}`)
  }
  await createUser(app)
  const { access } = await obtainPair(app)
  const hello = await app.inject({ method: 'OPTIONS', url: '/api/hello/', headers: bearer(access) })
  t.equal(hello.statusCode, 200)
  t.equal(hello.headers.allow, 'GET, HEAD, OPTIONS')
})

t.test('OPTIONS /api/token/: the body is DRF\'s metadata shape for the view (row 12)', async t => {
  const res = await app.inject({ method: 'OPTIONS', url: '/api/token/' })
  t.equal(res.statusCode, 200)
  // DRF's SimpleMetadata keys; we render JSON only (no browsable API), and show our length limits.
  t.same(res.json(), {
    name: 'Obtain a token pair',
    description: 'Takes a set of user credentials and returns an access and refresh JSON web token pair to prove the authentication of those credentials.',
    renders: ['application/json'],
    parses: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'],
    actions: {
      POST: {
        username: { type: 'string', required: true, read_only: false, label: 'Username', max_length: 150 },
        password: { type: 'string', required: true, read_only: false, label: 'Password', max_length: 4096 }
      }
    }
  })
})

t.test('POST /api/token: every path answers the same with and without its trailing slash (spec D12, row 61)', async t => {
  await createUser(app)
  const pair = await obtainPair(app)
  const json = 'application/json'
  const cases: Array<[string, Omit<InjectOptions, 'url'>]> = [
    ['/api/token/', { method: 'POST', payload: CREDENTIALS, headers: { 'content-type': json } }],
    ['/api/token/', { method: 'POST', payload: '{"username":"spiderman","password":"wrong"}', headers: { 'content-type': json } }],
    ['/api/token/', { method: 'POST', payload: '{}', headers: { 'content-type': json } }],
    ['/api/token/', { method: 'POST', payload: CREDENTIALS, headers: { 'content-type': 'text/plain' } }],
    ['/api/token/', { method: 'GET' }],
    ['/api/token/', { method: 'OPTIONS' }],
    ['/api/token/refresh/', { method: 'POST', payload: { refresh: pair.refresh } }],
    ['/api/token/refresh/', { method: 'POST', payload: { refresh: pair.access } }],
    ['/api/token/refresh/', { method: 'GET' }],
    ['/api/token/verify/', { method: 'POST', payload: { token: pair.access } }],
    ['/api/token/verify/', { method: 'POST', payload: { token: 'garbage' } }],
    ['/api/token/verify/', { method: 'OPTIONS' }],
    ['/api/hello/', { method: 'GET', headers: bearer(pair.access) }],
    ['/api/hello/', { method: 'GET' }],
    ['/api/hello/', { method: 'POST', headers: bearer(pair.access) }],
    ['/api/nope/', { method: 'GET' }]
  ]
  const tokensOut = (body: string) => body.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, '<jwt>')
  for (const [slashed, options] of cases) {
    const bare = slashed.slice(0, -1)
    const a = await app.inject({ ...options, url: slashed } as InjectOptions)
    const b = await app.inject({ ...options, url: bare } as InjectOptions)
    const what = `${options.method} ${bare}`
    t.not(b.statusCode, 301, `${what}: no redirect`)
    t.equal(b.headers.location, undefined)
    t.equal(b.statusCode, a.statusCode, `${what}: status`)
    t.equal(tokensOut(b.body), tokensOut(a.body), `${what}: body`)
    for (const header of ['content-type', 'allow', 'www-authenticate', 'x-frame-options']) {
      t.equal(b.headers[header], a.headers[header], `${what}: ${header}`)
    }
  }
})

t.test('GET /api/hello/: Django\'s security headers and a JSON content type on success and error answers', async t => {
  await createUser(app)
  const pair = await obtainPair(app)
  const answers: Array<[string, InjectOptions, number]> = [
    ['obtain', { method: 'POST', url: '/api/token/', payload: { username: 'spiderman', password: 'underoos' } }, 200],
    ['refresh', { method: 'POST', url: '/api/token/refresh/', payload: { refresh: pair.refresh } }, 200],
    ['verify', { method: 'POST', url: '/api/token/verify/', payload: { token: pair.access } }, 200],
    ['hello', { method: 'GET', url: '/api/hello/', headers: bearer(pair.access) }, 200],
    ['field error', { method: 'POST', url: '/api/token/', payload: {} }, 400],
    ['parse error', { method: 'POST', url: '/api/token/', payload: '{', headers: { 'content-type': 'application/json' } }, 400],
    ['bad login', { method: 'POST', url: '/api/token/', payload: { username: 'spiderman', password: 'x' } }, 401],
    ['bad token', { method: 'POST', url: '/api/token/verify/', payload: { token: 'x' } }, 401],
    ['no credentials', { method: 'GET', url: '/api/hello/' }, 401],
    ['not found', { method: 'GET', url: '/api/nope/' }, 404],
    ['method', { method: 'GET', url: '/api/token/' }, 405],
    ['media type', { method: 'POST', url: '/api/token/', payload: 'x', headers: { 'content-type': 'text/plain' } }, 415]
  ]
  for (const [what, options, status] of answers) {
    const res = await app.inject(options)
    t.equal(res.statusCode, status, what)
    t.match(res.headers['content-type'], JSON_TYPE, `${what}: content-type`)
    assertDjangoHeaders(t, res, what)
    t.equal(res.headers['www-authenticate'], status === 401 ? 'Bearer realm="api"' : undefined, `${what}: WWW-Authenticate only on 401`)
  }
})

t.test('GET /api/boom/: a server fault is a bare JSON 500 (spec D11)', async t => {
  // The app exactly as build() assembles it, plus routes that fail, registered before ready.
  const config = testConfig()
  const server: FastifyInstance = Fastify(serverOptions(config))
  await server.register(fp(appPlugin), { config, database, now: clock.now })
  server.get('/api/boom/', async () => { throw new Error('secret: connection string postgres://user:hunter2@db') })
  server.get('/api/boom-later/', async () => { await Promise.resolve(); throw Object.assign(new Error('upstream said no'), { statusCode: 502 }) })
  server.post('/api/boom-type/', async () => { throw new TypeError('cannot read properties of undefined') })
  await server.ready()
  t.teardown(() => server.close())

  for (const [method, url] of [['GET', '/api/boom/'], ['GET', '/api/boom'], ['GET', '/api/boom-later/'], ['POST', '/api/boom-type/']] as const) {
    const res = await server.inject({ method, url, payload: method === 'POST' ? {} : undefined })
    t.equal(res.statusCode, 500, url)
    t.equal(res.body, '{"detail":"A server error occurred."}', `${url}: nothing about the fault`)
    t.match(res.headers['content-type'], JSON_TYPE)
    assertDjangoHeaders(t, res, `500 ${url}`)
    t.notMatch(res.body, /stack|secret|hunter2|upstream|TypeError/)
  }
  // The app around the failing routes still answers as usual.
  t.equal((await server.inject({ method: 'GET', url: '/api/nope/' })).body, '{"detail":"Not found."}')
})

t.test('serverTimeouts: Node\'s bounds from the settings, in milliseconds', async t => {
  t.same(serverTimeouts({ REQUEST_TIMEOUT: 30, HEADERS_TIMEOUT: 10, KEEP_ALIVE_TIMEOUT: 72 }), {
    requestTimeout: 30_000,
    keepAliveTimeout: 72_000,
    http: { requestTimeout: 30_000, headersTimeout: 10_000, connectionsCheckingInterval: 1000 }
  })
  const short = serverTimeouts({ REQUEST_TIMEOUT: 1, HEADERS_TIMEOUT: 5, KEEP_ALIVE_TIMEOUT: 1 })
  t.equal(short.http?.headersTimeout, 1000, 'never longer than the request timeout (Node refuses that)')
  t.equal(short.http?.connectionsCheckingInterval, 250, 'a quarter of the headers timeout')
  const server = Fastify(serverOptions(testConfig({ REQUEST_TIMEOUT: 7, HEADERS_TIMEOUT: 3, KEEP_ALIVE_TIMEOUT: 9 })))
  t.teardown(() => server.close())
  t.equal(server.server.requestTimeout, 7000)
  t.equal(server.server.headersTimeout, 3000)
  t.equal(server.server.keepAliveTimeout, 9000)
})

t.test('isClientAbort: a body read the client broke off, not a database reset', async t => {
  const request = (gone: boolean) => ({ raw: { aborted: gone, destroyed: gone, socket: { destroyed: gone } } }) as unknown as Parameters<typeof isClientAbort>[1]
  const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 })
  t.ok(isClientAbort(aborted, request(true)))
  t.notOk(isClientAbort(aborted, request(false)), 'the client is still there')
  t.notOk(isClientAbort(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), request(true)), 'a database connection reset while the client left')
})
