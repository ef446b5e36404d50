// Calling idgraph from Node with @grpc/grpc-js and @grpc/proto-loader.
//
//   npm ci && node example.mjs [host:port]      (default: IDGRAPH_ADDR or 127.0.0.1:50051)
//
// It ingests two records of one person seen by two systems, reads the person's profile,
// and shows what a refused call carries: INVALID_ARGUMENT with a google.rpc.BadRequest in
// the `grpc-status-details-bin` trailer naming the offending field. The protos are read
// straight from the project's proto/ folder (google/rpc is vendored there), no download.
// With authentication on, set IDGRAPH_API_KEY (sent as `authorization: Bearer <key>`).

import path from "node:path";
import { fileURLToPath } from "node:url";

import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const protoRoot = path.resolve(here, "..", "..", "proto");
const address = process.argv[2] || process.env.IDGRAPH_ADDR || "127.0.0.1:50051";

const definition = protoLoader.loadSync("idgraph/v1/identity.proto", {
  includeDirs: [protoRoot],
  keepCase: true, // field names as in the .proto: source_record_id, one_id
  longs: String,
  enums: String, // DECISION_LINKED rather than 2
  defaults: true,
  oneofs: true,
});
const idgraph = grpc.loadPackageDefinition(definition).idgraph.v1;
const client = new idgraph.IdentityService(address, grpc.credentials.createInsecure());

const metadata = new grpc.Metadata();
if (process.env.IDGRAPH_API_KEY) {
  metadata.set("authorization", `Bearer ${process.env.IDGRAPH_API_KEY}`);
}

// One call as a promise, with a deadline (always set one: the default is none).
function call(method, request) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 10_000);
    client[method](request, metadata, { deadline }, (error, answer) =>
      error ? reject(error) : resolve(answer));
  });
}

// The google.rpc.Status a refused call carries, its details unpacked.
const statusTypes = protobuf.loadSync([
  path.join(protoRoot, "google/rpc/status.proto"),
  path.join(protoRoot, "google/rpc/error_details.proto"),
]);
const Status = statusTypes.lookupType("google.rpc.Status");

function fieldViolations(error) {
  const [bytes] = error.metadata?.get("grpc-status-details-bin") ?? [];
  if (!bytes) return [];
  const status = Status.decode(bytes);
  const violations = [];
  for (const detail of status.details) {
    const name = detail.type_url.split("/").pop(); // type.googleapis.com/google.rpc.BadRequest
    if (name !== "google.rpc.BadRequest") continue;
    const badRequest = statusTypes.lookupType(name).decode(detail.value);
    for (const v of badRequest.field_violations ?? badRequest.fieldViolations ?? []) {
      violations.push({ field: v.field, description: v.description });
    }
  }
  return violations;
}

const crm = await call("Ingest", {
  record: {
    source: "crm",
    source_record_id: "node-example-crm-1",
    identifiers: [{ type: "phone", value: "+86 139 1234 5678" }],
    attributes: { name: "张伟", city: "上海" },
  },
});
console.log(`crm record  -> ${crm.one_id} (${crm.decision})`);

const app = await call("Ingest", {
  record: {
    source: "app",
    source_record_id: "node-example-app-7",
    identifiers: [
      { type: "phone", value: "13912345678" },
      { type: "app_user_id", value: "A7" },
    ],
    attributes: { name: "张伟" },
  },
});
console.log(`app record  -> ${app.one_id} (${app.decision})`);

const { profile } = await call("GetProfile", { one_id: app.one_id });
console.log(`profile ${profile.one_id}: ${profile.records.length} records from ` +
  `${[...new Set(profile.records.map((r) => r.source))].sort().join(", ")}`);

try {
  await call("Ingest", {
    record: {
      source: "dms",
      source_record_id: "node-example-dms-1",
      identifiers: [{ type: "phone", value: "13912345678" }],
      vehicles: [{ vin: "1M8GDM9A1KP042788", relation: "VEHICLE_RELATION_OWNER" }],
    },
  });
  console.log("a bad VIN was accepted?");
  process.exitCode = 1;
} catch (error) {
  const name = Object.keys(grpc.status).find((k) => grpc.status[k] === error.code);
  for (const v of fieldViolations(error)) {
    console.log(`refused: ${name} ${v.field}: ${v.description}`);
  }
}

client.close();
