'use strict';
// A gRPC client that knows nothing of the API but what server reflection tells it, as grpcurl does: no .proto file
// of the service, no generated code. Only the reflection protocol itself (grpc.reflection.v1, with v1alpha as the
// fallback) is declared here, because a client needs it to ask.
const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');
const descriptor = require('protobufjs/ext/descriptor'); // adds Root.fromDescriptor and google.protobuf.FileDescriptorProto
const protojson = require('protobufjs/ext/protojson');

const FileDescriptorProto = descriptor.FileDescriptorProto;

const reflectionSchema = (pkg) => ({
  nested: {
    grpc: { nested: { reflection: { nested: { [pkg]: { nested: {
      ServerReflection: { methods: { ServerReflectionInfo: {
        requestType: 'ServerReflectionRequest', requestStream: true,
        responseType: 'ServerReflectionResponse', responseStream: true } } },
      ServerReflectionRequest: {
        oneofs: { message_request: { oneof: ['file_by_filename', 'file_containing_symbol', 'list_services'] } },
        fields: {
          host: { type: 'string', id: 1 },
          file_by_filename: { type: 'string', id: 3 },
          file_containing_symbol: { type: 'string', id: 4 },
          list_services: { type: 'string', id: 7 },
        } },
      ServerReflectionResponse: {
        fields: {
          valid_host: { type: 'string', id: 1 },
          file_descriptor_response: { type: 'FileDescriptorResponse', id: 4 },
          list_services_response: { type: 'ListServiceResponse', id: 6 },
          error_response: { type: 'ErrorResponse', id: 7 },
        } },
      FileDescriptorResponse: { fields: { file_descriptor_proto: { rule: 'repeated', type: 'bytes', id: 1 } } },
      ListServiceResponse: { fields: { service: { rule: 'repeated', type: 'ServiceResponse', id: 1 } } },
      ServiceResponse: { fields: { name: { type: 'string', id: 1 } } },
      ErrorResponse: { fields: { error_code: { type: 'int32', id: 1 }, error_message: { type: 'string', id: 2 } } },
    } } } } } },
  },
});

const codec = (type) => ({
  serialize: (obj) => Buffer.from(type.encode(obj instanceof type.ctor ? obj : type.fromObject(obj)).finish()),
  deserialize: (buf) => type.decode(buf),
});

class ReflectionClient {
  constructor(address) {
    this.grpc = new grpc.Client(address, grpc.credentials.createInsecure());
    this.files = new Map(); // file name -> decoded FileDescriptorProto
    this.root = null;
    this.version = null;
  }

  close() { this.grpc.close(); }

  // One reflection request on its own stream (simple and enough for a test).
  async ask(request) {
    for (const version of this.version ? [this.version] : ['v1', 'v1alpha']) {
      const root = protobuf.Root.fromJSON(reflectionSchema(version));
      const reqType = root.lookupType(`grpc.reflection.${version}.ServerReflectionRequest`);
      const resType = root.lookupType(`grpc.reflection.${version}.ServerReflectionResponse`);
      try {
        const res = await new Promise((resolve, reject) => {
          const call = this.grpc.makeBidiStreamRequest(`/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
            codec(reqType).serialize, codec(resType).deserialize, new grpc.Metadata(), { deadline: Date.now() + 10000 });
          let answer;
          call.on('data', (m) => { answer = m; });
          call.on('error', reject);
          call.on('end', () => resolve(answer));
          call.write(request);
          call.end();
        });
        this.version = version;
        if (res.error_response) {
          const e = new Error(`reflection ${JSON.stringify(request)}: ${res.error_response.error_message}`);
          e.code = res.error_response.error_code;
          throw e;
        }
        return res;
      } catch (e) {
        if (!this.version && e.code === grpc.status.UNIMPLEMENTED && version === 'v1') continue;
        throw e;
      }
    }
    throw new Error('the server serves no reflection');
  }

  async listServices() {
    const res = await this.ask({ list_services: '' });
    return res.list_services_response.service.map((s) => s.name);
  }

  // Adds the files the answer carries and, recursively, every dependency they name.
  async addFiles(res) {
    for (const bytes of res.file_descriptor_response.file_descriptor_proto) {
      const file = FileDescriptorProto.decode(bytes);
      if (!this.files.has(file.name)) this.files.set(file.name, file);
    }
    for (const file of [...this.files.values()]) {
      for (const dep of file.dependency || []) {
        if (!this.files.has(dep)) await this.addFiles(await this.ask({ file_by_filename: dep }));
      }
    }
    this.root = null;
  }

  async loadSymbol(symbol) {
    await this.addFiles(await this.ask({ file_containing_symbol: symbol }));
  }

  // Every file reachable from the services the server lists.
  async loadAll() {
    for (const service of await this.listServices()) {
      if (service.startsWith('grpc.reflection.')) continue;
      await this.loadSymbol(service);
    }
  }

  getRoot() {
    if (!this.root) {
      this.root = protobuf.Root.fromDescriptor({ file: [...this.files.values()] }, { keepCase: true }).resolveAll();
    }
    return this.root;
  }

  type(name) { return this.getRoot().lookupType(name); }

  // A type by its full name, asking the server for its file when it is not known yet (as for an Any's type_url).
  async resolveType(name) {
    try { return this.type(name); } catch { /* not loaded yet */ }
    await this.loadSymbol(name);
    return this.type(name);
  }

  method(fullMethod) { // "pkg.Service/Method"
    const [serviceName, methodName] = fullMethod.split('/');
    const service = this.getRoot().lookupService(serviceName);
    const m = service.methods[methodName];
    if (!m) throw new Error(`no method ${fullMethod}`);
    m.resolve();
    return { path: `/${serviceName}/${methodName}`, req: m.resolvedRequestType, res: m.resolvedResponseType,
      requestStream: !!m.requestStream, responseStream: !!m.responseStream };
  }

  // A request message from its ProtoJSON form (proto field names or lowerCamelCase, enums by name).
  fromJson(type, json) { return protojson.fromJson(type, json); }

  toObject(type, message) {
    return type.toObject(message, { enums: String, longs: String, defaults: true, arrays: true, oneofs: true });
  }

  unary(fullMethod, request, options = {}) {
    const m = this.method(fullMethod);
    const msg = request instanceof m.req.ctor ? request : this.fromJson(m.req, request);
    return new Promise((resolve, reject) => {
      this.grpc.makeUnaryRequest(m.path, codec(m.req).serialize, codec(m.res).deserialize, msg, new grpc.Metadata(),
        options, (err, res) => (err ? reject(err) : resolve(this.toObject(m.res, res))));
    });
  }

  // A bidirectional (or client-streaming in, server-streaming out) call: writes every request, collects every answer.
  bidi(fullMethod, requests, options = {}) {
    const m = this.method(fullMethod);
    return new Promise((resolve, reject) => {
      const call = this.grpc.makeBidiStreamRequest(m.path, codec(m.req).serialize, codec(m.res).deserialize,
        new grpc.Metadata(), options);
      const answers = [];
      call.on('data', (res) => answers.push(this.toObject(m.res, res)));
      call.on('error', reject);
      call.on('end', () => resolve(answers));
      for (const r of requests) call.write(r instanceof m.req.ctor ? r : this.fromJson(m.req, r));
      call.end();
    });
  }

  // The google.rpc.Status of a failed call (grpc-status-details-bin), its details decoded through types that
  // reflection serves; a type_url whose type the server does not serve throws.
  async statusDetails(err) {
    const raw = err.metadata && err.metadata.get('grpc-status-details-bin')[0];
    if (!raw) throw new Error(`no grpc-status-details-bin on ${err.code} ${err.details}`);
    const Status = await this.resolveType('google.rpc.Status');
    const status = Status.decode(raw);
    const details = [];
    for (const any of status.details) {
      const typeName = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
      const type = await this.resolveType(typeName);
      details.push({ type: typeName, value: this.toObject(type, type.decode(any.value)) });
    }
    return { code: status.code, message: status.message, details };
  }
}

module.exports = { ReflectionClient, grpc };
