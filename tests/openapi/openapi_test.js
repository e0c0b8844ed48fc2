// The HTTP contract: api/openapi.yaml is a valid OpenAPI 3.1 document (swagger-parser),
// api/openapi.json is its JSON form, and every answer a real gateway gives to a set of
// requests covering every route, success and errors, is valid against the schema the
// document gives for its path, method and status (ajv, JSON Schema 2020-12).
// Usage: node openapi_test.js LAMBDA_BIN INDEX_ROOT WEB_ROOT REPO_ROOT
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const SwaggerParser = require('@apidevtools/swagger-parser');
const yaml = require('js-yaml');
const Ajv2020 = require('ajv/dist/2020');
const { freePort, startGateway } = require('../testing/gateway.js');
const { isDeepStrictEqual } = require('node:util');

const [lambdaBin, indexRoot, webRoot, repo] = process.argv.slice(2);
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok   ' : 'FAIL '} ${what}`);
  if (!ok) failures++;
}

// The document's path template a request path matches ("/items/1" -> "/items/{id}").
function templateOf(doc, urlPath) {
  for (const t of Object.keys(doc.paths)) {
    const re = new RegExp('^' + t.replace(/\{[^}]+\}/g, '[^/]+') + '$');
    if (re.test(urlPath)) return t;
  }
  return null;
}

async function main() {
  // 1. The document itself.
  const yamlPath = path.join(repo, 'api/openapi.yaml');
  await SwaggerParser.validate(yamlPath);
  check(true, 'api/openapi.yaml is valid OpenAPI 3.1 (swagger-parser)');
  const doc = yaml.load(fs.readFileSync(yamlPath, 'utf8'));
  const served = JSON.parse(fs.readFileSync(path.join(repo, 'api/openapi.json'), 'utf8'));
  check(isDeepStrictEqual(served, doc),
    'api/openapi.json is api/openapi.yaml as JSON (else run scripts/openapi-json.sh)');

  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(doc, 'openapi.json');
  const validators = new Map();
  function validatorFor(schema) {
    const key = JSON.stringify(schema);
    if (!validators.has(key)) {
      validators.set(key, ajv.compile(schema.$ref ? { $ref: `openapi.json${schema.$ref}` } : schema));
    }
    return validators.get(key);
  }
  function responseSpec(op, status) {
    let r = op.responses[String(status)];
    if (r && r.$ref) r = doc.components.responses[r.$ref.split('/').pop()];
    return r;
  }

  // 2. A real gateway's answers.
  const port = await freePort();
  const gateway = await startGateway(lambdaBin, port, indexRoot, webRoot);
  const base = `http://127.0.0.1:${port}`;
  const seen = new Set();  // "METHOD template status"
  async function call(method, url, body, want) {
    const res = await fetch(base + url, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) { /* checked below */ }
    const urlPath = url.split('?')[0];
    const t = templateOf(doc, urlPath);
    const what = `${method} ${url.slice(0, 70)} -> ${res.status}`;
    check(res.status === want, `${what} (want ${want})`);
    check(json !== null, `${what}: the answer is JSON`);
    if (json === null) return null;
    let schema;
    const op = t === null ? null : doc.paths[t][method.toLowerCase()];
    if (!op) {
      // No such route (404), or not with this method (405): the error shape.
      check(res.status === (t === null ? 404 : 405), `${what}: ${t === null ? 404 : 405} off the document`);
      schema = { $ref: '#/components/schemas/Error' };
    } else {
      const spec = op && responseSpec(op, res.status);
      check(!!spec, `${what}: the document lists status ${res.status} for ${method} ${t}`);
      if (!spec) return json;
      schema = spec.content['application/json'].schema;
      seen.add(`${method} ${t} ${res.status}`);
    }
    const validate = validatorFor(schema);
    const valid = validate(json);
    check(valid, `${what}: valid against its schema` +
      (valid ? '' : `: ${ajv.errorsText(validate.errors)} in ${text.slice(0, 300)}`));
    if (res.status >= 400) check(/^[A-Z][A-Z0-9_]*$/.test(json.reason || ''), `${what}: reason ${json.reason}`);
    return json;
  }

  try {
    await call('POST', '/recommend', { name: 'Cowboy Bebop', top_k: 5 }, 200);
    await call('POST', '/recommend', { id: 1, franchise: 'mixed', exact: true }, 200);
    const page = await call('POST', '/recommend', { like: [1, 5], dislike: [20], top_k: 6, page_size: 3 }, 200);
    check(page && typeof page.next_page_token === 'string', 'a first page has a next_page_token');
    await call('POST', '/recommend', { like: [1, 5], dislike: [20], top_k: 6, page_token: page.next_page_token }, 200);
    await call('POST', '/recommend', { like: [1, 5], top_k: 6, page_token: page.next_page_token }, 400);
    await call('POST', '/recommend', { like: [999999999] }, 404);
    const typo = await call('POST', '/recommend', { name: 'cowboy bebob' }, 404);
    check(typo && typo.reason === 'TITLE_NOT_FOUND' && typo.suggestions.length > 0, 'an unknown title suggests others');
    await call('POST', '/recommend', { id: 987654321 }, 404);
    await call('POST', '/recommend', { nme: 'Cowboy Bebop' }, 400);
    await call('POST', '/recommend', { name: 'Cowboy Bebop', n: 0 }, 400);
    await call('POST', '/recommend', 'not json', 400);
    await call('POST', '/recommend', JSON.stringify({ name: 'x'.repeat(2 << 20) }), 413);
    await call('GET', '/recommend', undefined, 405);

    await call('GET', '/search?q=bounty%20hunters%20in%20space&top_k=5', undefined, 200);
    await call('GET', '/search?q=volleyball&mode=lexical&exclude_genres=Sports&k=3', undefined, 200);
    const spage = await call('GET', '/search?q=space&page_size=4&top_k=8', undefined, 200);
    await call('GET', `/search?q=space&page_size=4&top_k=8&page_token=${encodeURIComponent(spage.next_page_token)}`, undefined, 200);
    await call('GET', '/search?q=space&genres=NoSuchGenre', undefined, 400);
    await call('GET', '/search?q=space&page_token=bogus', undefined, 400);
    await call('GET', '/search?q=space&collection=nope', undefined, 404);
    await call('GET', '/search', undefined, 400);
    await call('POST', '/search?q=space', '{}', 405);

    await call('GET', '/titles?q=cowboy&top_k=3', undefined, 200);
    await call('GET', '/titles?q=cowboy&n=99', undefined, 400);
    await call('GET', '/items/1', undefined, 200);
    await call('GET', '/items/1?collection=ncf', undefined, 200);
    await call('GET', '/items/abc', undefined, 400);
    await call('GET', '/items/987654321', undefined, 404);
    await call('POST', '/items', { ids: [1, 5114, 987654321] }, 200);
    await call('POST', '/items', { ids: [] }, 400);
    await call('POST', '/items', { ids: [1], extra: true }, 400);
    await call('GET', '/browse?year=2023&season=fall&sort=popularity&page_size=5', undefined, 200);
    const bpage = await call('GET', '/browse?genres=Comedy&sort=score&page_size=3', undefined, 200);
    await call('GET', `/browse?genres=Comedy&sort=score&page_size=3&page_token=${encodeURIComponent(bpage.next_page_token)}`, undefined, 200);
    await call('GET', '/browse?min_year=2010&max_year=2012&sort=date&order=asc&family_safe=true', undefined, 200);
    await call('GET', '/browse?sort=score&min_members=5000&page_size=4', undefined, 200);
    await call('GET', '/browse?max_age_rating=pg_13&genres=Comedy', undefined, 200);
    await call('GET', '/browse?max_age_rating=PG13', undefined, 400);
    await call('GET', '/browse?sort=best', undefined, 400);
    await call('GET', '/browse?season=monsoon', undefined, 400);
    await call('GET', '/browse?collection=nope', undefined, 404);
    await call('GET', '/collections', undefined, 200);
    await call('POST', '/collections', '{}', 405);
    await call('GET', '/health', undefined, 200);
    await call('POST', '/health', '{}', 405);
    const own = await call('GET', '/openapi.json', undefined, 200);
    check(isDeepStrictEqual(own, doc), 'GET /openapi.json answers the document');
    await call('GET', '/no/such/route', undefined, 404);
  } finally {
    gateway.kill('SIGTERM');
  }

  // 3. Every operation was seen answering 200.
  for (const [t, ops] of Object.entries(doc.paths)) {
    for (const m of Object.keys(ops)) {
      check(seen.has(`${m.toUpperCase()} ${t} 200`), `${m.toUpperCase()} ${t} was exercised`);
    }
  }
  console.log(failures ? `${failures} check(s) failed` : 'the HTTP contract holds');
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.error('FAILED:', e && e.stack ? e.stack : e);
  process.exit(1);
});
