'use strict';
// A minimal Language Server Protocol client over stdio (JSON-RPC with Content-Length framing): enough to open a
// document, ask for completion and collect diagnostics from yaml-language-server, as an editor does.
const { spawn } = require('node:child_process');
const path = require('node:path');

function start(settings) {
  const bin = path.join(__dirname, '..', 'node_modules', 'yaml-language-server', 'bin', 'yaml-language-server');
  const child = spawn(process.execPath, [bin, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let buffer = Buffer.alloc(0);
  let nextId = 1;
  const pending = new Map();
  const diagnostics = new Map();
  const waiters = [];

  function send(message) {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...message }), 'utf8');
    child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    child.stdin.write(body);
  }

  function onMessage(msg) {
    if (msg.id !== undefined && msg.method) {
      // A request from the server: answer what an editor answers.
      const result = msg.method === 'workspace/configuration' ? msg.params.items.map(() => settings) : null;
      send({ id: msg.id, result });
    } else if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (p) (msg.error ? p.reject(new Error(JSON.stringify(msg.error))) : p.resolve(msg.result));
    } else if (msg.method === 'textDocument/publishDiagnostics') {
      diagnostics.set(msg.params.uri, msg.params.diagnostics);
      for (const w of waiters.splice(0)) w();
    }
  }

  child.stdout.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, end).toString())[1]);
      if (buffer.length < end + 4 + length) return;
      const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      buffer = buffer.subarray(end + 4 + length);
      onMessage(JSON.parse(body));
    }
  });

  return {
    request(method, params) {
      const id = nextId++;
      send({ id, method, params });
      return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
    },
    notify(method, params) { send({ method, params }); },
    /** The diagnostics of a document once the server has published some that satisfy the predicate. */
    async diagnostics(uri, predicate, timeoutMs = 20000) {
      const deadline = Date.now() + timeoutMs;
      while (!(diagnostics.has(uri) && predicate(diagnostics.get(uri)))) {
        if (Date.now() > deadline) return diagnostics.get(uri) ?? [];
        await new Promise((ok) => { waiters.push(ok); setTimeout(ok, 500); });
      }
      return diagnostics.get(uri);
    },
    async stop() {
      try { await Promise.race([this.request('shutdown', null), new Promise((ok) => setTimeout(ok, 2000))]); } catch { /* gone */ }
      this.notify('exit', null);
      child.kill();
    },
  };
}

module.exports = { start };
