// A client that knows simsearch only through gRPC server reflection, as grpcurl does:
// no .proto file is read. Usage: node reflection_test.js HOST:PORT
'use strict';
const assert = require('node:assert/strict');
const grpc = require('@grpc/grpc-js');
const { GrpcReflection } = require('grpc-js-reflection-client');

const host = process.argv[2];
if (!host) {
  console.error('usage: node reflection_test.js HOST:PORT');
  process.exit(2);
}
const creds = grpc.credentials.createInsecure();
const loaderOptions = { keepCase: true, enums: String, longs: String, defaults: true, oneofs: true };

function call(client, method, request) {
  return new Promise((resolve) => {
    client[method](request, { deadline: Date.now() + 5000 }, (err, resp) => resolve({ err, resp }));
  });
}

// The error's google.rpc.Status (trailer grpc-status-details-bin), each detail decoded
// with the type reflection gives for its type URL: {ErrorInfo: {...}, BadRequest: ...}.
async function decodeDetails(reflection, err) {
  const bin = err.metadata && err.metadata.get('grpc-status-details-bin');
  assert.ok(bin && bin.length === 1, 'the error carries no grpc-status-details-bin');
  const typeOf = async (name) =>
    (await reflection.getDescriptorBySymbol(name)).getProtobufJsRoot().lookupType(name);
  const Status = await typeOf('google.rpc.Status');
  const status = Status.toObject(Status.decode(bin[0]), { longs: String });
  assert.equal(status.code, err.code);
  const out = {};
  for (const any of status.details) {
    const name = (any.type_url || any.typeUrl).split('/').pop();  // google.rpc.ErrorInfo
    const T = await typeOf(name);
    out[name.split('.').pop()] = T.toObject(T.decode(any.value), { longs: String });
  }
  return out;
}

async function main() {
  const reflection = new GrpcReflection(host, creds);

  // grpcurl -plaintext HOST list
  const services = await reflection.listServices();
  console.log('services:', services.join(', '));
  for (const s of ['simsearch.v1.SimSearch', 'grpc.health.v1.Health',
                   'grpc.reflection.v1alpha.ServerReflection']) {
    assert.ok(services.includes(s), `reflection does not list ${s}`);
  }

  // grpcurl -plaintext HOST describe simsearch.v1.SimSearch
  const methods = (await reflection.listMethods('simsearch.v1.SimSearch')).map((m) => m.name);
  console.log('methods:', methods.join(', '));
  for (const m of ['Search', 'BatchSearch', 'GetItems', 'LookupTitle', 'ListCollections',
                   'DescribeCollection']) {
    assert.ok(methods.includes(m), `SimSearch has no method ${m}`);
  }

  // grpcurl -d '{...}' HOST simsearch.v1.SimSearch/Search, with types from reflection only.
  const pkg = (await reflection.getDescriptorBySymbol('simsearch.v1.SimSearch'))
      .getPackageObject(loaderOptions);
  const client = new pkg.simsearch.v1.SimSearch(host, creds);

  let r = await call(client, 'ListCollections', {});
  assert.ifError(r.err);
  const names = r.resp.collections.map((c) => c.name);
  console.log('collections:', names.join(', '));
  assert.ok(names.includes('tiny'));

  r = await call(client, 'LookupTitle', { collection: 'tiny', query: 'cowboy bebop' });
  assert.ifError(r.err);
  assert.equal(r.resp.matches[0].item.id, '1');

  r = await call(client, 'Search', { collection: 'tiny', query: { item_id: 1 }, top_k: 2 });
  assert.ifError(r.err);
  console.log('search hits:', r.resp.hits.map((h) => `${h.id}:${h.score.toFixed(3)}`).join(' '));
  assert.equal(r.resp.hits.length, 2);
  assert.ok(r.resp.hits.every((h) => h.id !== '1'), 'the query item must be excluded');
  assert.equal(r.resp.hits[0].id, '5', 'the nearest neighbour of item 1 is item 5');
  assert.equal(r.resp.hits[0].item.title, 'Cowboy Bebop: Tengoku no Tobira');

  r = await call(client, 'Search', { collection: 'tiny', query: { vector: { values: [1] } } });
  assert.equal(r.err && r.err.code, grpc.status.INVALID_ARGUMENT);
  console.log('bad request:', r.err.details);
  assert.match(r.err.details, /dimensions/);

  r = await call(client, 'Search', { collection: 'nope', query: { item_id: 1 } });
  assert.equal(r.err && r.err.code, grpc.status.NOT_FOUND);
  // grpcurl prints an error's google.rpc details, resolving their types through
  // reflection: so does this client.
  const details = await decodeDetails(reflection, r.err);
  console.log('error details:', JSON.stringify(details));
  assert.equal(details.ErrorInfo.reason, 'COLLECTION_NOT_FOUND');
  assert.equal(details.ErrorInfo.domain, 'simsearch.v1');
  assert.equal(details.ResourceInfo.resource_name, 'nope');

  r = await call(client, 'Search', { collection: 'tiny', query: { item_id: 1 }, top_k: 0 });
  assert.equal(r.err && r.err.code, grpc.status.INVALID_ARGUMENT);
  const bad = await decodeDetails(reflection, r.err);
  assert.equal(bad.ErrorInfo.reason, 'TOP_K_OUT_OF_RANGE');
  assert.equal(bad.BadRequest.field_violations[0].field, 'top_k');

  // grpcurl HOST grpc.health.v1.Health/Check
  const hpkg = (await reflection.getDescriptorBySymbol('grpc.health.v1.Health'))
      .getPackageObject(loaderOptions);
  const health = new hpkg.grpc.health.v1.Health(host, creds);
  r = await call(health, 'Check', { service: '' });
  assert.ifError(r.err);
  assert.equal(r.resp.status, 'SERVING');
  r = await call(health, 'Check', { service: 'simsearch.v1.SimSearch' });
  assert.ifError(r.err);
  assert.equal(r.resp.status, 'SERVING');

  client.close();
  health.close();
  console.log('reflection-only client: OK');
}

main().then(() => process.exit(0), (e) => {
  console.error('FAILED:', e && e.stack ? e.stack : e);
  process.exit(1);
});
