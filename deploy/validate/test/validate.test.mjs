// Every overlay under deploy/ renders with `kubectl kustomize` and validates (validate.mjs); a planted invalid manifest
// fails, naming the object and the field. Run: cd deploy/validate && npm install && node --test test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from '../validate.mjs';

const deploy = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const render = (dir) => execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
const kustomizations = ['overlays', 'examples'].flatMap((group) =>
  fs.readdirSync(path.join(deploy, group)).map((name) => path.join(group, name)));

for (const dir of kustomizations) {
  test(`${dir} renders and every object validates`, async () => {
    const { objects, problems } = await validate(render(path.join(deploy, dir)));
    assert.deepEqual(problems, []);
    assert.equal(objects, 5); // Deployment, two Services, HPA, PDB
  });
}

test('the overlays differ where they should: replicas, resources, the rules source', async () => {
  // Each kind's documents, joined (two Services).
  const kinds = (dir) => render(path.join(deploy, dir)).split('\n---\n').reduce((all, d) => {
    const kind = d.match(/^kind: (\w+)/m)[1];
    return { ...all, [kind]: (all[kind] ?? '') + d };
  }, {});
  const small = kinds('overlays/small');
  const large = kinds('overlays/large');
  assert.match(small.HorizontalPodAutoscaler, /minReplicas: 2/);
  assert.match(large.HorizontalPodAutoscaler, /minReplicas: 3/);
  assert.match(large.HorizontalPodAutoscaler, /maxReplicas: 12/);
  assert.match(large.Deployment, /memory: 1536Mi/);
  assert.match(small.Deployment, /grpc:\n\s+port: 50051/);
  assert.match(small.Service, /name: contributi-automatici-grpc\n(.*\n)*?spec:\n  clusterIP: None/);
  assert.match(small.Service, /name: contributi-automatici-http\n(.*\n)*?spec:\n(.*\n)*?  type: ClusterIP/);
  assert.match(kinds('examples/rules-configmap').Deployment, /value: \/etc\/contributi\/rules/);
});

/** A copy of deploy/ with one more patch in the small overlay, rendered and validated. */
async function planted(patch) {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'contributi-deploy-'));
  try {
    for (const dir of ['base', 'overlays/small']) fs.cpSync(path.join(deploy, dir), path.join(copy, dir), { recursive: true });
    const file = path.join(copy, 'overlays/small/kustomization.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8') + patch);
    return await validate(render(path.join(copy, 'overlays/small')));
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
}

test('a planted invalid manifest fails against the schema, naming the object and the field', async () => {
  const { problems } = await planted(`
  - target:
      kind: Deployment
    patch: |-
      - op: replace
        path: /spec/template/spec/containers/0/ports/0/containerPort
        value: "fifty-thousand"
      - op: replace
        path: /spec/revisionHistoryLimit
        value: many
`);
  assert.ok(problems.some((p) => p.startsWith('Deployment/contributi-automatici: ') && p.includes('containers/0/ports/0/containerPort must be integer')), problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('spec/revisionHistoryLimit must be integer')), problems.join('\n'));
});

test('a planted manifest whose objects do not fit together fails', async () => {
  const { problems } = await planted(`
  - target:
      kind: Service
      name: contributi-automatici-http
    patch: |-
      - op: replace
        path: /spec/ports/0/targetPort
        value: metrics
  - target:
      kind: HorizontalPodAutoscaler
    patch: |-
      - op: replace
        path: /spec/scaleTargetRef/name
        value: contributi
`);
  assert.deepEqual(problems, [
    'Service/contributi-automatici-http: port http targets metrics, not a port of its pods',
    'HorizontalPodAutoscaler/contributi-automatici: its target Deployment/contributi is not rendered',
  ]);
});
