// Validates rendered Kubernetes manifests (the output of `kubectl kustomize`): each object against the Kubernetes
// OpenAPI schemas of its apiVersion and kind (the kubernetes-models package, pinned in package.json), then the objects
// against each other: a Service's selector and target ports, the probes' ports, an HPA's target, a PDB's selector.
// Usage: node validate.mjs FILE...   ('-' reads stdin); prints one line per problem, exits 1 when there is any.
import fs from 'node:fs';
import { parseAllDocuments } from 'yaml';

/** The problems of one rendered manifest text, each "Kind/name: what". */
export async function validate(text) {
  const problems = [];
  const objects = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      problems.push(`not YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
      continue;
    }
    const object = doc.toJS();
    if (object === null || object === undefined) continue;
    objects.push(object);
  }
  if (objects.length === 0) problems.push('no object rendered');
  for (const object of objects) {
    const id = `${object.kind}/${object.metadata?.name}`;
    const module = object.apiVersion === 'v1' ? 'kubernetes-models/v1' : `kubernetes-models/${object.apiVersion}`;
    let Model;
    try {
      Model = (await import(module))[object.kind];
    } catch {
      Model = undefined;
    }
    if (typeof Model !== 'function') {
      problems.push(`${id}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (e) {
      problems.push(`${id}: ${e.message}`);
    }
  }
  problems.push(...consistency(objects));
  return { objects: objects.length, problems };
}

const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

/** What the schemas cannot see: objects that name ports, labels or other objects that are not there. */
function consistency(objects) {
  const problems = [];
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const podsOf = (selector) => deployments.filter((d) => matches(selector, d.spec?.template?.metadata?.labels));
  const portsOf = (deployment) => (deployment.spec?.template?.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  const hasPort = (deployment, port) =>
    portsOf(deployment).some((p) => p.containerPort === port || (p.name !== undefined && p.name === port));

  for (const d of deployments) {
    const id = `Deployment/${d.metadata?.name}`;
    if (!matches(d.spec?.selector?.matchLabels, d.spec?.template?.metadata?.labels))
      problems.push(`${id}: spec.selector does not select its own pod template's labels`);
    for (const c of d.spec?.template?.spec?.containers ?? []) {
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const p = c[probe];
        const port = p?.grpc?.port ?? p?.httpGet?.port ?? p?.tcpSocket?.port;
        if (p && !hasPort(d, port)) problems.push(`${id}: container ${c.name} ${probe} port ${port} is not one of its ports`);
      }
      if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory || !c.resources?.limits?.memory)
        problems.push(`${id}: container ${c.name} has no cpu and memory requests and memory limit (an overlay sizes it)`);
    }
  }
  for (const s of objects.filter((o) => o.kind === 'Service')) {
    const id = `Service/${s.metadata?.name}`;
    const pods = podsOf(s.spec?.selector);
    if (pods.length === 0) {
      problems.push(`${id}: its selector matches no Deployment's pods`);
      continue;
    }
    for (const p of s.spec?.ports ?? []) {
      const target = p.targetPort ?? p.port;
      if (!pods.every((d) => hasPort(d, target))) problems.push(`${id}: port ${p.name ?? p.port} targets ${target}, not a port of its pods`);
    }
  }
  const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
  for (const h of hpas) {
    const id = `HorizontalPodAutoscaler/${h.metadata?.name}`;
    const t = h.spec?.scaleTargetRef;
    if (!objects.some((o) => o.kind === t?.kind && o.metadata?.name === t?.name)) problems.push(`${id}: its target ${t?.kind}/${t?.name} is not rendered`);
    if ((h.spec?.minReplicas ?? 1) > h.spec?.maxReplicas) problems.push(`${id}: minReplicas above maxReplicas`);
  }
  for (const b of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
    const id = `PodDisruptionBudget/${b.metadata?.name}`;
    if (podsOf(b.spec?.selector?.matchLabels).length === 0) problems.push(`${id}: its selector matches no Deployment's pods`);
    const least = Math.min(...hpas.map((h) => h.spec?.minReplicas ?? 1));
    if (typeof b.spec?.minAvailable === 'number' && hpas.length > 0 && b.spec.minAvailable >= least)
      problems.push(`${id}: minAvailable ${b.spec.minAvailable} leaves no replica to drain (the autoscaler may run ${least})`);
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let failed = false;
  for (const file of process.argv.slice(2)) {
    const { objects, problems } = await validate(fs.readFileSync(file === '-' ? 0 : file, 'utf8'));
    for (const p of problems) console.log(`${file}: ${p}`);
    if (problems.length > 0) failed = true;
    else console.log(`${file}: ${objects} objects valid`);
  }
  process.exit(failed ? 1 : 0);
}
