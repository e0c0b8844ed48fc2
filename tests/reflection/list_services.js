// Prints the services a server lists through reflection, one per line, or
// "ERROR <grpc code name>: <details>" when the reflection call fails (exit 0 either
// way). Usage: node list_services.js HOST:PORT
'use strict';
const grpc = require('@grpc/grpc-js');
const { GrpcReflection } = require('grpc-js-reflection-client');

const host = process.argv[2];
if (!host) {
  console.error('usage: node list_services.js HOST:PORT');
  process.exit(2);
}
const names = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) => [v, k]));
new GrpcReflection(host, grpc.credentials.createInsecure())
  .listServices()
  .then((services) => console.log(services.join('\n')))
  .catch((err) => console.log(`ERROR ${names[err.code] || err.code}: ${err.details || err.message}`));
