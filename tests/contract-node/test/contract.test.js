'use strict';
// The gRPC contract as a Node.js caller meets it: every type comes from server reflection (lib/client.js), every
// request from the repository's examples in their ProtoJSON form. CONTRIBUTI_ADDRESS is the server (host:port).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { ReflectionClient, grpc } = require('../lib/client');

const address = process.env.CONTRIBUTI_ADDRESS || '127.0.0.1:50051';
const repo = path.resolve(__dirname, '..', '..', '..');
const example = () => JSON.parse(fs.readFileSync(path.join(repo, 'examples', 'first-feature.json'), 'utf8'));

// A decimal string rounded half away from zero to `scale` digits, exactly (no binary floating point).
function roundDecimal(s, scale) {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s);
  assert.ok(m, `not a decimal string: ${s}`);
  const frac = (m[3] || '').padEnd(scale + 1, '0');
  let n = BigInt((m[2] || '0') + frac.slice(0, scale + 1));
  n = (n + 5n) / 10n;
  const digits = n.toString().padStart(scale + 1, '0');
  const sign = m[1] === '-' && n !== 0n ? '-' : '';
  return `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}
const cents = (s) => BigInt(roundDecimal(s, 2).replace('.', ''));

let client;
before(async () => {
  client = new ReflectionClient(address);
  await client.loadAll(); // every file reachable from the listed services, dependencies included
});
after(() => client && client.close());

test('health: grpc.health.v1.Health/Check is SERVING, and reflection lists the three services', async () => {
  const services = await client.listServices();
  for (const s of ['contributi.v1.ScoringService', 'contributi.v1.AllocationService',
    'contributi.v1.ComparisonService', 'grpc.health.v1.Health']) {
    assert.ok(services.includes(s), `reflection does not list ${s}: ${services}`);
  }
  assert.deepEqual(await client.unary('grpc.health.v1.Health/Check', {}), { status: 'SERVING' });
  assert.deepEqual(await client.unary('grpc.health.v1.Health/Check', { service: 'contributi.v1.ScoringService' }),
    { status: 'SERVING' });
});

test('ListRuleSets lists dm-2021 with a sha256 content hash', async () => {
  const res = await client.unary('contributi.v1.ScoringService/ListRuleSets', {});
  const dm2021 = res.rule_sets.find((r) => r.id === 'dm-2021');
  assert.ok(dm2021, `no dm-2021 among ${res.rule_sets.map((r) => r.id)}`);
  assert.match(dm2021.content_hash, /^[0-9a-f]{64}$/);
  assert.equal(dm2021.kind, 'version');
});

test('ScoreWork of examples/first-feature.json: dm-2021, cinema.cultural 190, producer total 847.3333', async () => {
  const res = await client.unary('contributi.v1.ScoringService/ScoreWork', example());
  assert.equal(res.rule_set_id, 'dm-2021');
  assert.equal(res.work_id, 'esempio-opera-prima');
  assert.match(res.content_hash, /^[0-9a-f]{64}$/);
  const producer = res.roles.find((r) => r.role === 'ROLE_PRODUCER');
  assert.ok(producer, `no producer among ${res.roles.map((r) => r.role)}`);
  const cultural = producer.quotas.find((q) => q.quota_id === 'cinema.cultural');
  assert.ok(cultural, 'no cinema.cultural quota for the producer');
  assert.equal(cultural.points, '190');
  assert.equal(roundDecimal(producer.total_points, 4), '847.3333');
});

test('a bad request is INVALID_ARGUMENT with a google.rpc.BadRequest decoded through reflection', async () => {
  // The detail's type is served by reflection (google/rpc/error_details.proto), as grpcurl would ask for it.
  const served = await client.ask({ file_containing_symbol: 'google.rpc.BadRequest' });
  assert.ok(served.file_descriptor_response.file_descriptor_proto.length > 0);

  const bad = example();
  bad.work.italian_share_percent = '150';
  bad.work.festivals[0].festival_id = 'venice';
  const err = await client.unary('contributi.v1.ScoringService/ScoreWork', bad).then(
    () => assert.fail('a share of 150% and an unknown festival were accepted'), (e) => e);
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT, `${err.code} ${err.details}`);
  const status = await client.statusDetails(err);
  assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
  const badRequest = status.details.find((d) => d.type === 'google.rpc.BadRequest');
  assert.ok(badRequest, `no google.rpc.BadRequest among the details: ${status.details.map((d) => d.type)}`);
  const fields = badRequest.value.field_violations.map((v) => v.field);
  assert.ok(fields.includes('work.italian_share_percent'), `violations: ${fields}`);
  assert.ok(fields.includes('work.festivals[0].festival_id'), `violations: ${fields}`);
  for (const v of badRequest.value.field_violations) assert.ok(v.description, `${v.field} has no description`);
});

test('ScoreWorks streams 200 works and answers in order with the request ids', async () => {
  const requests = Array.from({ length: 200 }, (_, i) => {
    const r = example();
    r.work.id = `w${i}`;
    return { request_id: `w${i}`, request: r };
  });
  const answers = await client.bidi('contributi.v1.ScoringService/ScoreWorks', requests,
    { deadline: Date.now() + 60000 });
  assert.equal(answers.length, 200);
  answers.forEach((a, i) => {
    assert.equal(a.request_id, `w${i}`);
    assert.equal(a.result, 'response', `w${i} failed: ${JSON.stringify(a.error)}`);
    assert.equal(a.response.work_id, `w${i}`);
    assert.equal(a.response.rule_set_id, 'dm-2021');
  });
});

test('a call with a 1 ms deadline fails DEADLINE_EXCEEDED on the client', async () => {
  // From light to heavy: should the server answer a light request within 1 ms, the next is heavier.
  const attempts = [
    () => client.unary('contributi.v1.ScoringService/ScoreWork', example(), { deadline: Date.now() + 1 }),
    () => client.unary('contributi.v1.ScoringService/ScoreWork', { ...example(), include_not_applied: true },
      { deadline: Date.now() + 1 }),
    () => client.bidi('contributi.v1.ScoringService/ScoreWorks',
      Array.from({ length: 200 }, (_, i) => ({ request_id: `d${i}`, request: example() })),
      { deadline: Date.now() + 1 }),
  ];
  for (const attempt of attempts) {
    const err = await attempt().then(() => null, (e) => e);
    if (!err) continue; // the server was faster than 1 ms: try a heavier request
    assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED, `${grpc.status[err.code]}: ${err.details}`);
    return;
  }
  assert.fail('every request was answered within 1 ms');
});

test('Allocate streams examples/year-2023.jsonl: the summary first (dm-2021), then company statements', async () => {
  const items = fs.readFileSync(path.join(repo, 'examples', 'year-2023.jsonl'), 'utf8')
    .split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  const answers = await client.bidi('contributi.v1.AllocationService/Allocate', items,
    { deadline: Date.now() + 60000 });
  assert.ok(answers.length > 1);
  const [first, ...rest] = answers;
  assert.equal(first.item, 'summary');
  assert.equal(first.summary.rule_set_id, 'dm-2021');
  assert.equal(first.summary.application_year, 2023);
  // Then the company statements (by company id), the work statements, the exclusions: never back.
  const rank = { company: 1, work: 2, exclusion: 3 };
  rest.forEach((a, i) => {
    assert.ok(rank[a.item], `answer ${i + 1} is a ${a.item}`);
    if (i > 0) assert.ok(rank[a.item] >= rank[rest[i - 1].item], `a ${a.item} after a ${rest[i - 1].item}`);
  });
  const companies = rest.filter((a) => a.item === 'company').map((a) => a.company);
  assert.equal(rest[0].item, 'company');
  assert.equal(companies.length, first.summary.companies);
  assert.deepEqual(companies.map((c) => c.company_id), companies.map((c) => c.company_id).sort());
  // The statements add up to what the summary says was allocated, to the cent.
  assert.equal(companies.reduce((sum, c) => sum + cents(c.total), 0n), cents(first.summary.allocated));
});
