// The image (../../Dockerfile) and the manifests (deploy/) describe the same container: where no container engine runs
// (as on our machines), CI checks that what one says the other says too: the ports, the user, the entrypoint, the
// rules folder, the health check. Run: cd deploy/validate && node --test test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The Dockerfile's final stage as instructions: [{ op, args }] with line continuations joined. */
export function finalStage(text) {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const instructions = lines.map((l) => ({ op: l.split(/\s+/)[0].toUpperCase(), args: l.slice(l.split(/\s+/)[0].length).trim() }));
  const from = instructions.map((i) => i.op).lastIndexOf('FROM');
  return instructions.slice(from);
}

const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const stage = finalStage(dockerfile);
const one = (op) => stage.filter((i) => i.op === op).map((i) => i.args);
const env = Object.fromEntries(one('ENV').join(' ').match(/[\w.]+=("[^"]*"|\S*)/g).map((kv) => {
  const [k, ...v] = kv.split('=');
  return [k, v.join('=').replace(/^"|"$/g, '')];
}));
const deployment = parseAllDocuments(execFileSync('kubectl', ['kustomize', path.join(root, 'deploy', 'overlays', 'small')], { encoding: 'utf8' }))
  .map((d) => d.toJS()).find((o) => o?.kind === 'Deployment');
const container = deployment.spec.template.spec.containers[0];
const containerEnv = Object.fromEntries(container.env.map((e) => [e.name, e.value]));

test('the ports the image exposes are the container ports, gRPC and HTTP, as the image configures them', () => {
  const exposed = one('EXPOSE').join(' ').split(/\s+/).map(Number).sort();
  assert.deepEqual(container.ports.map((p) => p.containerPort).sort(), exposed);
  assert.equal(Number(env.Contributi__Port), container.ports.find((p) => p.name === 'grpc').containerPort);
  assert.equal(Number(env.Contributi__HttpPort), container.ports.find((p) => p.name === 'http').containerPort);
  for (const key of ['Contributi__Port', 'Contributi__HttpPort', 'Contributi__Address', 'Contributi__Rules'])
    assert.equal(containerEnv[key], env[key], key);
});

test('the image runs as its non-root user, which the pod requires', () => {
  assert.deepEqual(one('USER'), ['$APP_UID']); // the aspnet image's non-root 'app' user (uid 1654)
  assert.equal(deployment.spec.template.spec.securityContext.runAsNonRoot, true);
});

test("the pod runs the image's entrypoint, and the probes ask what the image's health check asks", () => {
  assert.deepEqual(JSON.parse(one('ENTRYPOINT')[0]), ['dotnet', '/app/ContributiAutomatici.Server.dll']);
  assert.equal(container.command, undefined);
  assert.equal(container.args, undefined);
  // HEALTHCHECK: the server itself asks grpc.health.v1 on its configured gRPC port; the probes ask the same service there.
  const health = one('HEALTHCHECK')[0];
  assert.match(health, /CMD \["dotnet", "\/app\/ContributiAutomatici.Server.dll", "--health-check"\]/);
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'])
    assert.equal(container[probe].grpc.port, Number(env.Contributi__Port), probe);
});
