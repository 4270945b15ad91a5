// A checkout service's three calls to dompromise from Node.js: availability, a promise, a hold.
//
//   npm ci && node checkout.js [HOST:PORT] [SKU]
//
// Environment: DOMPROMISE_AUTH_KEY (sent as authorization: Bearer), DOMPROMISE_TLS_CA (a CA file: TLS).
//
// Two proto-loader options matter:
// - keepCase: true. Without it proto-loader renames fields to lowerCamelCase, and a request written
//   with the proto's names (sku_ids) is silently sent empty: the server answers INVALID_ARGUMENT.
// - longs: String. Quantities and log positions are int64: as JS numbers they lose precision past 2^53.
'use strict';

const path = require('path');
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTOS = path.resolve(__dirname, '..', '..', 'protos');
// google/api/annotations.proto (the HTTP routes' options), vendored beside the protos.
const GOOGLEAPIS = path.resolve(__dirname, '..', '..', 'third_party', 'googleapis');
const definition = protoLoader.loadSync(
  ['dompromise/v1/availability.proto', 'dompromise/v1/promise.proto', 'dompromise/v1/reservation.proto'],
  { includeDirs: [PROTOS, GOOGLEAPIS], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true },
);
const v1 = grpc.loadPackageDefinition(definition).dompromise.v1;

function credentials() {
  const ca = process.env.DOMPROMISE_TLS_CA;
  const channel = ca ? grpc.credentials.createSsl(fs.readFileSync(ca)) : grpc.credentials.createInsecure();
  const key = process.env.DOMPROMISE_AUTH_KEY;
  if (!key) return channel;
  if (!ca) return channel; // call credentials need TLS in grpc-js: the key goes as plain metadata instead
  const bearer = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${key}`);
    callback(null, metadata);
  });
  return grpc.credentials.combineChannelCredentials(channel, bearer);
}

function metadata() {
  const metadata = new grpc.Metadata();
  if (process.env.DOMPROMISE_AUTH_KEY && !process.env.DOMPROMISE_TLS_CA) {
    metadata.set('authorization', `Bearer ${process.env.DOMPROMISE_AUTH_KEY}`);
  }
  return metadata;
}

function call(client, method, request) {
  const deadline = new Date(Date.now() + 5000);
  return new Promise((resolve, reject) => {
    client[method](request, metadata(), { deadline }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

async function main() {
  const target = process.argv[2] || '127.0.0.1:50051';
  const sku = process.argv[3] || 'FLT-FUE-50127';
  const creds = credentials();
  const availability = new v1.AvailabilityService(target, creds);
  const promise = new v1.PromiseService(target, creds);
  const reservation = new v1.ReservationService(target, creds);

  const stock = await call(availability, 'GetAvailability', { sku_ids: [sku] });
  const item = stock.items[0];
  console.log(JSON.stringify({ step: 'availability', sku_id: item.sku_id, available_quantity: item.available_quantity }));

  const options = await call(promise, 'PromiseDelivery', {
    lines: [{ sku_id: sku, quantity: '1' }],
    postal_code: '59000',
    country_code: 'FR',
  });
  if (options.options.length === 0) throw new Error('no delivery option');
  const best = options.options[0];
  console.log(JSON.stringify({ step: 'promise', options: options.options.length, node_id: best.shipments[0].node_id }));

  const held = await call(reservation, 'ReserveInventory', {
    request_id: `node-example-${process.pid}-${Date.now()}`,
    promise_token: best.promise_token,
  });
  console.log(JSON.stringify({ step: 'reserve', reservation_id: held.reservation.reservation_id, log_position: held.log_position }));
  if (typeof held.log_position !== 'string') throw new Error('int64 fields should arrive as strings (longs: String)');
  availability.close();
  promise.close();
  reservation.close();
}

main().catch((error) => {
  console.error(`dompromise example failed: ${error.code !== undefined ? grpc.status[error.code] : ''} ${error.message}`);
  process.exit(1);
});
