'use strict';
// The rule files' schemas as an editor sees them: yaml-language-server (the server behind VS Code's YAML extension
// and other LSP editors) reads the modeline of a temp copy of rules/dm-2021/tabella-1.yaml, completes the fields of
// a new row and flags a misspelt one. Run: npm install && npm test (in tests/schema-lsp).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { start } = require('../lib/lsp');

const rules = path.resolve(__dirname, '..', '..', '..', 'rules');
const settings = { validate: true, completion: true, hover: true, schemas: {}, schemaStore: { enable: false } };

/** A temp rules folder holding the schemas and one file, its text changed by edit. */
function tempCopy(relative, edit) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'contributi-lsp-'));
  fs.cpSync(path.join(rules, 'schema'), path.join(root, 'schema'), { recursive: true });
  const file = path.join(root, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const text = edit(fs.readFileSync(path.join(rules, relative), 'utf8'));
  fs.writeFileSync(file, text);
  return { root, uri: pathToFileURL(file).href, text };
}

async function session(copy, body) {
  const lsp = start(settings);
  try {
    await lsp.request('initialize', {
      processId: process.pid, rootUri: pathToFileURL(copy.root).href,
      capabilities: { workspace: { configuration: true }, textDocument: { completion: { completionItem: { snippetSupport: false } } } },
    });
    lsp.notify('initialized', {});
    lsp.notify('workspace/didChangeConfiguration', { settings: { yaml: settings } });
    lsp.notify('textDocument/didOpen', { textDocument: { uri: copy.uri, languageId: 'yaml', version: 1, text: copy.text } });
    await body(lsp);
  } finally {
    await lsp.stop();
    fs.rmSync(copy.root, { recursive: true, force: true });
  }
}

test('a new row of tabella-1.yaml is completed with the row fields of the schema', { timeout: 60000 }, async () => {
  const copy = tempCopy('dm-2021/tabella-1.yaml', (t) => t.trimEnd() + '\n      - id: T1.Z.1\n        \n');
  const lines = copy.text.split('\n');
  const line = lines.length - 2; // the blank line inside the new row
  await session(copy, async (lsp) => {
    const result = await lsp.request('textDocument/completion', { textDocument: { uri: copy.uri }, position: { line, character: 8 } });
    const labels = (Array.isArray(result) ? result : result.items).map((i) => i.label);
    for (const field of ['label', 'cite', 'points', 'figures', 'when', 'provenance']) assert.ok(labels.includes(field), `${field} not in [${labels}]`);
    assert.ok(!labels.includes('table'), 'a file-level field offered inside a row');
  });
});

test('a misspelt field of a row is flagged by the schema', { timeout: 60000 }, async () => {
  const copy = tempCopy('dm-2021/tabella-1.yaml', (t) => t.replace('        points: "Per(producer_media_sales, eur_per_point)"', '        pionts: "Per(producer_media_sales, eur_per_point)"'));
  const line = copy.text.split('\n').findIndex((l) => l.includes('pionts:'));
  assert.ok(line >= 0, 'the line to misspell is no longer in tabella-1.yaml: update the test');
  await session(copy, async (lsp) => {
    const found = await lsp.diagnostics(copy.uri, (ds) => ds.some((d) => d.range.start.line === line));
    const messages = found.filter((d) => d.range.start.line === line).map((d) => d.message);
    assert.ok(messages.some((m) => m.includes('pionts')), `no diagnostic naming 'pionts' on line ${line + 1}: ${JSON.stringify(found)}`);
  });
});

test('a golden case\'s work is completed with the contract\'s fields', { timeout: 60000 }, async () => {
  const copy = tempCopy('dm-2021/tests/tabella-1.yaml', (t) => t.trimEnd() + '\n  - name: "new case"\n    work:\n      \n');
  const line = copy.text.split('\n').length - 2;
  await session(copy, async (lsp) => {
    const result = await lsp.request('textDocument/completion', { textDocument: { uri: copy.uri }, position: { line, character: 6 } });
    const labels = (Array.isArray(result) ? result : result.items).map((i) => i.label);
    for (const field of ['kind', 'boxOffice', 'firstReleaseDate', 'festivals']) assert.ok(labels.includes(field), `${field} not in [${labels}]`);
  });
});
