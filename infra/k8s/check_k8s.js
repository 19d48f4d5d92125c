// Checks the Kubernetes recipe offline: renders every kustomization, validates each object against the Kubernetes schemas, enforces the pod and network rules.
//
// Usage: node infra/k8s/check_k8s.js   (KUBECTL names the kubectl to render with; default: kubectl on PATH)
//
// Three kinds of finding, each fatal:
//   schema   an object the Kubernetes API would refuse (kubernetes-models: validators generated from
//            the API's OpenAPI definitions; required fields, types, enums, formats)
//   policy   a pod or container that breaks the recipe's rules (non-root, read-only root, no privilege
//            escalation, RuntimeDefault seccomp, no capabilities, requests and limits, probes that can
//            work against each container's listeners, 0400 secret files, configs from ConfigMaps), or
//            wiring that cannot work (a file no mount provides, a node that does not dial its gateway,
//            a gateway pool that is not the signer set)
//   network  anything but a default deny plus exactly the allows listed in EXPECTED below
// Then it proves the rules can fail: broken copies of the rendered objects must each be caught.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const recipeDir = __dirname;
const kubectl = process.env.KUBECTL || 'kubectl';
const namespace = 'signer';
const placeholderImage = /^placeholder\.invalid\/[a-z0-9-]+:[0-9A-Za-z_][0-9A-Za-z_.-]*$/;

// Peers as the allow lists below spell them.
const validators = 'namespace{remote-signer/client=true} pods{remote-signer/client=true}';
const prometheus = 'namespace{kubernetes.io/metadata.name=monitoring} pods{app.kubernetes.io/name=prometheus}';
const kubeDns = 'namespace{kubernetes.io/metadata.name=kube-system} pods{k8s-app=kube-dns}';
const kafka = 'namespace{kubernetes.io/metadata.name=kafka} pods{app.kubernetes.io/name=kafka}';
const signerdPods = 'pods{app.kubernetes.io/name=signerd}';
const agentPods = 'pods{app.kubernetes.io/name=keyagentd}';
const validatorPods = 'pods{app.kubernetes.io/name=validator}';

// The signer's own traffic, in every kustomization: node or gateway to signerd, Prometheus to metrics.
const signerdAllows = [
  `ingress ${signerdPods} <- ${validators} TCP/7443`,
  `ingress ${signerdPods} <- ${prometheus} TCP/9615`,
];
const dnsAllows = (pods) => [`egress ${pods} -> ${kubeDns} TCP/53`, `egress ${pods} -> ${kubeDns} UDP/53`];

// What each kustomization must render: its workloads and their replicas, which of them have a
// disruption budget, and exactly which connections its network policies allow beyond the default deny.
const EXPECTED = {
  base: {
    workloads: { 'StatefulSet/signerd': { replicas: 1, config: 'signerd.yaml' } },
    disruptionBudgets: [],
    allows: signerdAllows,
  },
  'overlays/dev': {
    workloads: { 'StatefulSet/signerd': { replicas: 1, config: 'signerd.yaml' } },
    disruptionBudgets: [],
    allows: signerdAllows,
  },
  'overlays/ha': {
    workloads: {
      'StatefulSet/signerd': { replicas: 3, config: 'signerd.yaml', kafka: true, spread: true },
      // One validator: a node with the gateway sidecar whose pool is every signerd replica.
      'StatefulSet/validator': { replicas: 1, validator: true, config: 'signer-gateway.yaml', poolOf: 'StatefulSet/signerd' },
    },
    disruptionBudgets: ['signerd'],
    allows: [
      ...signerdAllows,
      `egress ${signerdPods} -> ${kafka} TCP/9093`,
      ...dnsAllows(signerdPods),
      // The validator pod: p2p both ways, its gateway to signerd only, DNS, Prometheus in; signerd lets it in.
      `ingress ${signerdPods} <- ${validatorPods} TCP/7443`,
      `ingress ${validatorPods} <- anywhere TCP/30333`,
      `ingress ${validatorPods} <- ${prometheus} TCP/9615`,
      `ingress ${validatorPods} <- ${prometheus} TCP/9616`,
      `egress ${validatorPods} -> anywhere TCP/30333`,
      `egress ${validatorPods} -> ${signerdPods} TCP/7443`,
      ...dnsAllows(validatorPods),
    ],
  },
  'overlays/threshold': {
    workloads: {
      'StatefulSet/signerd': { replicas: 1, config: 'signerd.yaml', coordinatorOf: 'StatefulSet/keyagentd' },
      'StatefulSet/keyagentd': { replicas: 3, config: 'keyagentd.yaml', agent: true, spread: true },
    },
    disruptionBudgets: ['keyagentd'],
    allows: [
      ...signerdAllows,
      `ingress ${agentPods} <- ${signerdPods} TCP/7461`,
      `ingress ${agentPods} <- ${prometheus} TCP/9615`,
      `egress ${signerdPods} -> ${agentPods} TCP/7461`,
      ...dnsAllows(signerdPods),
    ],
  },
};

// ---------------------------------------------------------------------------------------------------
// Rendering and schemas.

// kustomizations lists every directory under the recipe holding a kustomization.yaml.
function kustomizations() {
  const found = [];
  const visit = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === 'node_modules') continue;
      const child = path.join(dir, entry.name);
      if (fs.existsSync(path.join(child, 'kustomization.yaml'))) found.push(path.relative(recipeDir, child));
      visit(child);
    }
  };
  visit(recipeDir);
  return found.sort();
}

// Newer kustomize warns about the v2-compatible fields the recipe keeps on purpose (base/kustomization.yaml).
const knownWarning = /^# Warning: '(bases|patchesStrategicMerge)' is deprecated\./;

// render runs `kubectl kustomize` on one kustomization and returns its objects; any other output on
// stderr counts as a failure.
function render(name) {
  const result = spawnSync(kubectl, ['kustomize', path.join(recipeDir, name)], { encoding: 'utf8' });
  if (result.error) throw new Error(`cannot run ${kubectl}: ${result.error.message}`);
  const noise = result.stderr.split('\n').filter((line) => line.trim() !== '' && !knownWarning.test(line));
  if (result.status !== 0 || noise.length > 0) {
    throw new Error(`${kubectl} kustomize ${name} failed (exit ${result.status}): ${noise.join(' | ')}`);
  }
  const documents = YAML.parseAllDocuments(result.stdout);
  const objects = [];
  for (const document of documents) {
    if (document.errors.length > 0) throw new Error(`${name}: unparsable output: ${document.errors[0].message}`);
    const object = document.toJS();
    if (object !== null) objects.push(object);
  }
  return objects;
}

const objectName = (object) => `${object.kind}/${object.metadata && object.metadata.name}`;

// modelFor finds the kubernetes-models class of an object's apiVersion and kind ("apps/v1" lives
// at kubernetes-models/apps/v1, the core "v1" at kubernetes-models/v1).
function modelFor(object) {
  if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') return undefined;
  let group;
  try {
    group = require(`kubernetes-models/${object.apiVersion}`);
  } catch {
    return undefined;
  }
  return group[object.kind];
}

function schemaFindings(objects) {
  const findings = [];
  for (const object of objects) {
    const Model = modelFor(object);
    if (!Model) {
      findings.push(`schema: ${objectName(object)}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      const details = (error.errors || []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
      findings.push(`schema: ${objectName(object)}: ${details || error.message}`);
    }
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------------
// Pod rules.

const workloadKinds = new Set(['StatefulSet', 'Deployment', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod']);

function podSpecOf(object) {
  if (object.kind === 'Pod') return object.spec;
  if (object.kind === 'CronJob') return object.spec.jobTemplate.spec.template.spec;
  return object.spec.template.spec;
}

const isSet = (value) => value !== undefined && value !== null && value !== '';

function imageFindings(where, image) {
  if (!placeholderImage.test(image || '')) {
    return [`policy: ${where}: image ${image} is not a tagged placeholder.invalid image (infra/k8s/README.md: images are set per deployment)`];
  }
  return [];
}

// containerFindings applies the per-container rules; pod-level settings count where Kubernetes lets
// them stand in for the container's own.
function containerFindings(where, container, podSecurity, isInit) {
  const findings = [];
  const security = container.securityContext || {};
  const runAsNonRoot = security.runAsNonRoot ?? podSecurity.runAsNonRoot;
  const runAsUser = security.runAsUser ?? podSecurity.runAsUser;
  const seccomp = security.seccompProfile ?? podSecurity.seccompProfile;
  if (runAsNonRoot !== true) findings.push(`policy: ${where}: runAsNonRoot is not true`);
  if (runAsUser === 0) findings.push(`policy: ${where}: runs as user 0`);
  if (!seccomp || seccomp.type !== 'RuntimeDefault') findings.push(`policy: ${where}: seccompProfile is not RuntimeDefault`);
  if (security.readOnlyRootFilesystem !== true) findings.push(`policy: ${where}: readOnlyRootFilesystem is not true`);
  if (security.allowPrivilegeEscalation !== false) findings.push(`policy: ${where}: allowPrivilegeEscalation is not false`);
  if (security.privileged === true) findings.push(`policy: ${where}: privileged`);
  const capabilities = security.capabilities || {};
  if (!(capabilities.drop || []).includes('ALL')) findings.push(`policy: ${where}: capabilities do not drop ALL`);
  if ((capabilities.add || []).length > 0) findings.push(`policy: ${where}: adds capabilities ${capabilities.add}`);
  const resources = container.resources || {};
  for (const kind of ['requests', 'limits']) {
    for (const resource of ['cpu', 'memory']) {
      if (!isSet((resources[kind] || {})[resource])) findings.push(`policy: ${where}: no ${resource} in resources.${kind}`);
    }
  }
  findings.push(...imageFindings(where, container.image));
  for (const variable of container.env || []) {
    if (variable.valueFrom && variable.valueFrom.secretKeyRef) {
      findings.push(`policy: ${where}: secret in environment variable ${variable.name} (secrets are files)`);
    }
  }
  for (const source of container.envFrom || []) {
    if (source.secretRef) findings.push(`policy: ${where}: secret ${source.secretRef.name} in the environment (secrets are files)`);
  }
  if (!isInit) findings.push(...probeFindings(where, container));
  return findings;
}

// What each container is, by name: its probes must suit its listeners.
const containerKinds = { signerd: 'signer', keyagentd: 'signer', 'signer-gateway': 'gateway', polkadot: 'node' };

// isMutualTlsHealthProbe: gRPC health through grpc_health_probe with TLS and a client certificate,
// at `address` (host:port).
function isMutualTlsHealthProbe(probe, address) {
  const command = (probe && probe.exec && probe.exec.command) || [];
  return command[0] === 'grpc_health_probe' && command.includes('-tls') && command.includes(`-addr=${address}`) &&
    command.some((argument) => argument.startsWith('-tls-client-cert='));
}

// probeFindings: liveness and readiness must exist and be able to pass against the container's
// listeners. Kubernetes' `grpc:` probe is plaintext, so it never can against mutual TLS.
// - signer (signerd, keyagentd): readiness is gRPC health over mutual TLS on the grpc port.
// - gateway: its gRPC listener is on loopback (which the kubelet cannot reach) with mutual TLS, so
//   startup and liveness read its metrics listener (alive whether or not a signer is eligible: dead
//   signers must not restart it), readiness is gRPC health over mutual TLS from inside the container
//   (the address is checked against its config in validatorWiringFindings).
// - node: RPC is on loopback, so every probe is an exec of curl on the RPC health endpoints
//   (`/health` for startup and liveness, `/health/readiness` for readiness; validatorWiringFindings
//   checks the port).
function probeFindings(where, container) {
  const findings = [];
  const kind = containerKinds[container.name];
  if (!kind) return [`policy: ${where}: unknown container (no probe rules for it in check_k8s.js)`];
  for (const probeKind of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    const probe = container[probeKind];
    if (!probe) {
      if (probeKind !== 'startupProbe') findings.push(`policy: ${where}: no ${probeKind}`);
      continue;
    }
    if (probe.grpc) findings.push(`policy: ${where}: ${probeKind} uses a plaintext grpc probe against a mutual-TLS listener`);
    if (kind === 'signer' && probe.httpGet) findings.push(`policy: ${where}: ${probeKind} uses httpGet against a gRPC listener`);
    if (kind === 'gateway' && probeKind !== 'readinessProbe' &&
        !(probe.httpGet && probe.httpGet.path === '/metrics' && probe.httpGet.port === 'metrics')) {
      findings.push(`policy: ${where}: ${probeKind} is not GET /metrics on the metrics port (it must not depend on the signers)`);
    }
    if (kind === 'node') {
      const path = probeKind === 'readinessProbe' ? '/health/readiness' : '/health';
      if (!nodeHealthUrl(probe, path)) findings.push(`policy: ${where}: ${probeKind} is not curl -f on the node's loopback RPC ${path}`);
    }
  }
  if (kind === 'signer' && !isMutualTlsHealthProbe(container.readinessProbe, `127.0.0.1:${portNamed(container, 'grpc')}`)) {
    findings.push(`policy: ${where}: readinessProbe is not grpc_health_probe over mutual TLS on the grpc port ${portNamed(container, 'grpc')}`);
  }
  if (kind === 'gateway' && !isMutualTlsHealthProbe(container.readinessProbe, probeAddress(container.readinessProbe))) {
    findings.push(`policy: ${where}: readinessProbe is not grpc_health_probe over mutual TLS`);
  }
  return findings;
}

// probeAddress: the -addr of a grpc_health_probe exec probe.
function probeAddress(probe) {
  const command = (probe && probe.exec && probe.exec.command) || [];
  const argument = command.find((candidate) => candidate.startsWith('-addr='));
  return argument && argument.slice('-addr='.length);
}

// nodeHealthUrl: the URL of an exec probe that is `curl -f... http://127.0.0.1:PORT<path>` (curl
// -f fails on the 500 that /health/readiness answers while syncing), or undefined.
function nodeHealthUrl(probe, path) {
  const command = (probe && probe.exec && probe.exec.command) || [];
  const url = command.find((argument) => argument.startsWith('http://'));
  const failsOnError = command.some((argument) => /^-[a-zA-Z]*f[a-zA-Z]*$/.test(argument) || argument === '--fail');
  if (command[0] !== 'curl' || !failsOnError || !url) return undefined;
  const parsed = new URL(url);
  return parsed.hostname === '127.0.0.1' && parsed.pathname === path ? parsed : undefined;
}

function portNamed(container, name) {
  const port = (container.ports || []).find((candidate) => candidate.name === name);
  return port ? port.containerPort : undefined;
}

// volumeFindings: secrets as 0400 files, nothing from the host.
function volumeFindings(where, volumes) {
  const findings = [];
  const checkMode = (volumeWhere, defaultMode, items) => {
    if (defaultMode !== 0o400) findings.push(`policy: ${volumeWhere}: secret defaultMode is ${defaultMode === undefined ? 'unset (0644)' : '0' + defaultMode.toString(8)}, not 0400`);
    for (const item of items || []) {
      if (item.mode !== undefined && item.mode !== 0o400) findings.push(`policy: ${volumeWhere}: secret item ${item.key} has mode 0${item.mode.toString(8)}`);
    }
  };
  for (const volume of volumes || []) {
    const volumeWhere = `${where} volume ${volume.name}`;
    if (volume.hostPath) findings.push(`policy: ${volumeWhere}: hostPath`);
    if (volume.secret) checkMode(volumeWhere, volume.secret.defaultMode, volume.secret.items);
    if (volume.projected && (volume.projected.sources || []).some((source) => source.secret)) {
      checkMode(volumeWhere, volume.projected.defaultMode, []);
    }
  }
  return findings;
}

function podFindings(workload) {
  const where = objectName(workload);
  const spec = podSpecOf(workload);
  const security = spec.securityContext || {};
  const findings = [];
  if (security.runAsNonRoot !== true) findings.push(`policy: ${where}: pod runAsNonRoot is not true`);
  if (!security.seccompProfile || security.seccompProfile.type !== 'RuntimeDefault') {
    findings.push(`policy: ${where}: pod seccompProfile is not RuntimeDefault`);
  }
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) {
    if (spec[field] === true) findings.push(`policy: ${where}: ${field}`);
  }
  if (spec.automountServiceAccountToken !== false) findings.push(`policy: ${where}: mounts a service account token it never uses`);
  findings.push(...volumeFindings(where, spec.volumes));
  for (const container of spec.initContainers || []) {
    findings.push(...containerFindings(`${where} init container ${container.name}`, container, security, true));
  }
  for (const container of spec.containers || []) {
    findings.push(...containerFindings(`${where} container ${container.name}`, container, security, false));
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------------
// The recipe's own wiring: configs from ConfigMaps, each file the config names provided by a mount,
// the listeners where the ports and probes expect them, history on the per-pod volume.

function configOf(objects, workload, configName) {
  const spec = podSpecOf(workload);
  const template = (spec.volumes || []).find((volume) => volume.name === 'config-template');
  if (!template || !template.configMap) return { error: 'the config-template volume is not a ConfigMap' };
  const configMap = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === template.configMap.name);
  if (!configMap) return { error: `ConfigMap ${template.configMap.name} is not rendered` };
  const text = (configMap.data || {})[configName];
  if (text === undefined) return { error: `ConfigMap ${configMap.metadata.name} has no ${configName}` };
  return { config: YAML.parse(text), configMap };
}

function stringsIn(value) {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

const portOf = (address) => Number(String(address).split(':').pop());

function wiringFindings(objects, workload, expected) {
  const where = objectName(workload);
  const findings = [];
  const spec = podSpecOf(workload);
  const main = spec.containers[0];
  const prepare = (spec.initContainers || []).find((container) => container.name === 'prepare');
  if (!prepare) return [`policy: ${where}: no prepare init container`];
  const command = main.command || [];
  const configArgument = command[command.indexOf('--config') + 1];
  if (command.indexOf('--config') < 0 || configArgument !== `/run/signer/config/${expected.config}`) {
    findings.push(`policy: ${where}: the daemon does not read /run/signer/config/${expected.config}`);
  }
  const { config, configMap, error } = configOf(objects, workload, expected.config);
  if (error) return [...findings, `policy: ${where}: ${error}`];
  const mountOf = (container, mountPath) => (container.volumeMounts || []).find((mount) => mount.mountPath === mountPath);
  const volumeOf = (name) => (spec.volumes || []).find((volume) => volume.name === name);
  for (const file of stringsIn(config).filter((value) => value.startsWith('/'))) {
    const parts = file.split('/');
    if (file.startsWith('/run/signer/secrets/')) {
      const mount = mountOf(prepare, `/etc/signer/secrets/${parts[4]}`);
      const volume = mount && volumeOf(mount.name);
      if (!volume || !volume.secret) findings.push(`policy: ${where}: ${file} comes from no Secret mounted into prepare`);
    } else if (file.startsWith('/etc/signer/template/')) {
      if (!(parts[4] in (configMap.data || {}))) findings.push(`policy: ${where}: ${file} is not in ConfigMap ${configMap.metadata.name}`);
    } else if (file.startsWith('/var/lib/signer/')) {
      const mount = mountOf(main, '/var/lib/signer');
      const claims = (workload.spec.volumeClaimTemplates || []).map((claim) => claim.metadata.name);
      if (!mount || !claims.includes(mount.name)) findings.push(`policy: ${where}: ${file} is not on the pod's own volume`);
    } else if (!file.startsWith('/usr/lib/')) {
      findings.push(`policy: ${where}: ${file} is outside the recipe's mounts`);
    }
  }
  if (!config.history || !String(config.history.data_dir).startsWith('/var/lib/signer/')) {
    findings.push(`policy: ${where}: history.data_dir is not on the pod's volume`);
  }
  if (portOf(config.server.listen) !== portNamed(main, 'grpc')) findings.push(`policy: ${where}: server.listen is not the grpc port`);
  if (portOf(config.server.metrics_listen) !== portNamed(main, 'metrics')) findings.push(`policy: ${where}: metrics_listen is not the metrics port`);
  if (config.signer_id !== '@POD_NAME@') findings.push(`policy: ${where}: signer_id is not the pod's name (@POD_NAME@)`);
  if (workload.spec.replicas !== expected.replicas) findings.push(`policy: ${where}: ${workload.spec.replicas} replicas, expected ${expected.replicas}`);
  if (workload.kind === 'StatefulSet' && (workload.spec.volumeClaimTemplates || []).length === 0) {
    findings.push(`policy: ${where}: no volume per replica`);
  }
  if (Boolean(expected.kafka) !== Boolean(config.kafka && config.kafka.brokers)) {
    findings.push(`policy: ${where}: kafka section ${expected.kafka ? 'missing' : 'unexpected'}`);
  }
  if (expected.agent && (config.kafka || config.threshold)) findings.push(`policy: ${where}: a key agent with a kafka or threshold section`);
  if (expected.spread) {
    const antiAffinity = ((spec.affinity || {}).podAntiAffinity || {}).requiredDuringSchedulingIgnoredDuringExecution || [];
    if (!antiAffinity.some((term) => term.topologyKey === 'kubernetes.io/hostname')) {
      findings.push(`policy: ${where}: replicas are not kept on separate nodes`);
    }
  }
  if (expected.coordinatorOf) {
    const agents = objects.find((object) => objectName(object) === expected.coordinatorOf);
    const service = agents && agents.spec.serviceName;
    const wanted = agents ? [...Array(agents.spec.replicas).keys()].map((i) => `${agents.metadata.name}-${i}.${service}.${namespace}.svc.cluster.local:7461`) : [];
    const configured = ((config.threshold || {}).agents || []).map((agent) => agent.address);
    if (JSON.stringify(configured) !== JSON.stringify(wanted)) {
      findings.push(`policy: ${where}: threshold.agents ${configured} are not the agents' pods ${wanted}`);
    }
  }
  return findings;
}

// The validator pod: the node dials its gateway on the pod's loopback with its own certificate; the
// gateway's files come from its Secret through prepare, its pool is every replica of the signer set,
// its state is on the pod's own volume; the node's RPC stays on loopback.

// flagValue: the value of `--name=value` or `--name value` in a container's command and args.
function flagValue(argv, name) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name) return argv[i + 1];
    if (argv[i].startsWith(`${name}=`)) return argv[i].slice(name.length + 1);
  }
  return undefined;
}

function validatorWiringFindings(objects, workload, expected) {
  const where = objectName(workload);
  const findings = [];
  const spec = podSpecOf(workload);
  const node = spec.containers.find((container) => container.name === 'polkadot');
  const gateway = spec.containers.find((container) => container.name === 'signer-gateway');
  const prepare = (spec.initContainers || []).find((container) => container.name === 'prepare');
  if (!node || !gateway || !prepare) return [`policy: ${where}: needs the containers polkadot and signer-gateway and the init container prepare`];
  if (workload.spec.replicas !== expected.replicas) {
    findings.push(`policy: ${where}: ${workload.spec.replicas} replicas, expected ${expected.replicas} (two pods of one validator would both run --validator)`);
  }
  const volumeOf = (name) => (spec.volumes || []).find((volume) => volume.name === name);
  const claims = (workload.spec.volumeClaimTemplates || []).map((claim) => claim.metadata.name);
  // mountUnder: the mount of `container` that holds `file`.
  const mountUnder = (container, file) => (container.volumeMounts || []).find((mount) => file.startsWith(`${mount.mountPath}/`));

  // The gateway: its config, its files, its pool, its listeners.
  const command = gateway.command || [];
  if (flagValue(command, '--config') !== `/run/signer/config/${expected.config}`) {
    findings.push(`policy: ${where}: the gateway does not read /run/signer/config/${expected.config}`);
  }
  const configName = ((prepare.env || []).find((variable) => variable.name === 'SIGNER_CONFIG_NAME') || {}).value;
  if (configName !== expected.config) findings.push(`policy: ${where}: prepare does not write ${expected.config} (SIGNER_CONFIG_NAME ${configName})`);
  const { config, error } = configOf(objects, workload, expected.config);
  if (error) return [...findings, `policy: ${where}: ${error}`];
  const runMount = mountUnder(gateway, '/run/signer/config/x');
  const prepareRun = mountUnder(prepare, '/run/signer/config/x');
  if (!runMount || !prepareRun || runMount.name !== prepareRun.name || !(volumeOf(runMount.name) || {}).emptyDir) {
    findings.push(`policy: ${where}: the gateway does not see prepare's /run/signer (one emptyDir in both)`);
  }
  for (const file of stringsIn(config).filter((value) => value.startsWith('/'))) {
    const parts = file.split('/');
    if (file.startsWith('/run/signer/secrets/')) {
      const mount = mountUnder(prepare, `/etc/signer/secrets/${parts[4]}/x`);
      const volume = mount && volumeOf(mount.name);
      if (!volume || !volume.secret) findings.push(`policy: ${where}: ${file} comes from no Secret mounted into prepare`);
    } else if (file === config.state_dir) {
      const mount = (gateway.volumeMounts || []).find((candidate) => candidate.mountPath === file);
      if (!mount || !claims.includes(mount.name)) findings.push(`policy: ${where}: the gateway's state_dir ${file} is not on the pod's own volume`);
    } else {
      findings.push(`policy: ${where}: ${file} is outside the gateway's mounts`);
    }
  }
  const listen = config.listen || {};
  if (listen.unix_socket) {
    findings.push(`policy: ${where}: the gateway listens on a Unix socket; the node's remote keystore dials https://HOST:PORT only`);
  }
  if (!String(listen.tcp || '').startsWith('127.0.0.1:') || !listen.tls) {
    findings.push(`policy: ${where}: the gateway's listen.tcp ${listen.tcp} is not loopback with mutual TLS`);
  }
  if (probeAddress(gateway.readinessProbe) !== listen.tcp) {
    findings.push(`policy: ${where}: the gateway's readiness probe asks ${probeAddress(gateway.readinessProbe)}, not its listener ${listen.tcp}`);
  }
  if (portOf(config.metrics_listen) !== portNamed(gateway, 'metrics') || !String(config.metrics_listen).startsWith('0.0.0.0:')) {
    findings.push(`policy: ${where}: the gateway's metrics_listen ${config.metrics_listen} is not the pod's metrics port ${portNamed(gateway, 'metrics')} (the liveness probe and Prometheus read it)`);
  }
  const signers = objects.find((object) => objectName(object) === expected.poolOf);
  const grpcPort = signers && portNamed(podSpecOf(signers).containers[0], 'grpc');
  const pool = signers ? [...Array(signers.spec.replicas).keys()].map((i) => `${signers.metadata.name}-${i}.${signers.spec.serviceName}.${namespace}.svc.cluster.local:${grpcPort}`) : [];
  const upstreams = (config.upstreams || []).map((upstream) => upstream.address);
  if (JSON.stringify(upstreams) !== JSON.stringify(pool)) {
    findings.push(`policy: ${where}: the gateway's upstreams ${upstreams} are not the signer set's pods ${pool}`);
  }
  if (!config.history_id && !config.state_dir) findings.push(`policy: ${where}: the gateway neither pins nor remembers the pool's history`);

  // The node: a validator whose keystore is the gateway, its files from a Secret, RPC on loopback.
  const argv = [...(node.command || []), ...(node.args || [])];
  if (!argv.includes('--validator')) findings.push(`policy: ${where}: the node does not run --validator`);
  if (flagValue(argv, '--remote-signer') !== `https://${listen.tcp}`) {
    findings.push(`policy: ${where}: the node's --remote-signer ${flagValue(argv, '--remote-signer')} does not dial its gateway at https://${listen.tcp}`);
  }
  if (/^https:\/\/[0-9.]+:/.test(flagValue(argv, '--remote-signer') || '') && !flagValue(argv, '--remote-signer-server-name')) {
    findings.push(`policy: ${where}: the node dials an IP address without --remote-signer-server-name (rustls checks DNS names only)`);
  }
  for (const flag of ['--remote-signer-ca', '--remote-signer-cert', '--remote-signer-key', '--node-key-file']) {
    const file = flagValue(argv, flag);
    const mount = file && mountUnder(node, file);
    const volume = mount && volumeOf(mount.name);
    if (!volume || !volume.secret || mount.readOnly !== true) findings.push(`policy: ${where}: the node's ${flag} ${file} comes from no read-only Secret mount`);
  }
  const basePath = flagValue(argv, '--base-path');
  const baseMount = (node.volumeMounts || []).find((mount) => mount.mountPath === basePath);
  if (!baseMount || !claims.includes(baseMount.name)) findings.push(`policy: ${where}: the node's --base-path ${basePath} is not on the pod's own volume`);
  for (const flag of ['--rpc-external', '--unsafe-rpc-external', '--rpc-cors']) {
    if (argv.some((argument) => argument === flag || argument.startsWith(`${flag}=`))) findings.push(`policy: ${where}: the node's RPC is opened beyond loopback (${flag})`);
  }
  if (flagValue(argv, '--rpc-methods') !== 'safe') findings.push(`policy: ${where}: the node's RPC does not serve safe methods only`);
  const rpcPort = Number(flagValue(argv, '--rpc-port') || 9944);
  for (const probeKind of ['livenessProbe', 'readinessProbe']) {
    const url = nodeHealthUrl(node[probeKind], probeKind === 'readinessProbe' ? '/health/readiness' : '/health');
    if (url && Number(url.port) !== rpcPort) findings.push(`policy: ${where}: the node's ${probeKind} asks port ${url.port}, not its RPC port ${rpcPort}`);
  }
  if (Number(flagValue(argv, '--port')) !== portNamed(node, 'p2p')) findings.push(`policy: ${where}: the node's --port is not the p2p port`);
  if (Number(flagValue(argv, '--prometheus-port')) !== portNamed(node, 'metrics')) findings.push(`policy: ${where}: the node's --prometheus-port is not the metrics port`);
  return findings;
}

// ---------------------------------------------------------------------------------------------------
// Network policies: one default deny for everything, then exactly the expected allows.

function selectorText(kind, selector) {
  if (!selector) return undefined;
  if ((selector.matchExpressions || []).length > 0) return `${kind}{expressions ${JSON.stringify(selector.matchExpressions)}}`;
  const labels = Object.entries(selector.matchLabels || {}).map(([key, value]) => `${key}=${value}`).sort();
  return labels.length === 0 ? `${kind}{all}` : `${kind}{${labels.join(',')}}`;
}

function peerText(peer) {
  if (peer.ipBlock) return `ipBlock ${peer.ipBlock.cidr}${peer.ipBlock.except ? ' except ' + peer.ipBlock.except : ''}`;
  return [selectorText('namespace', peer.namespaceSelector), selectorText('pods', peer.podSelector)].filter(Boolean).join(' ');
}

function allowsOf(policy) {
  const target = selectorText('pods', policy.spec.podSelector);
  const allows = [];
  for (const [direction, arrow, peersKey] of [['ingress', '<-', 'from'], ['egress', '->', 'to']]) {
    for (const rule of policy.spec[direction] || []) {
      const peers = rule[peersKey] ? rule[peersKey].map(peerText) : ['anywhere'];
      const ports = rule.ports ? rule.ports.map((port) => `${port.protocol || 'TCP'}/${port.port === undefined ? 'any' : port.port}`) : ['all ports'];
      for (const peer of peers) for (const port of ports) allows.push(`${direction} ${target} ${arrow} ${peer} ${port}`);
    }
  }
  return allows;
}

function networkFindings(objects, expectedAllows) {
  const findings = [];
  const policies = objects.filter((object) => object.kind === 'NetworkPolicy');
  const isDefaultDeny = (policy) =>
    selectorText('pods', policy.spec.podSelector) === 'pods{all}' &&
    ['Ingress', 'Egress'].every((type) => (policy.spec.policyTypes || []).includes(type)) &&
    (policy.spec.ingress || []).length === 0 && (policy.spec.egress || []).length === 0;
  if (!policies.some(isDefaultDeny)) findings.push('network: no default-deny policy (all pods, Ingress and Egress, no rules)');
  const actual = [];
  for (const policy of policies.filter((candidate) => !isDefaultDeny(candidate))) {
    const types = policy.spec.policyTypes || [];
    if (types.length === 0) findings.push(`network: ${objectName(policy)}: policyTypes not stated`);
    if ((policy.spec.ingress || []).length > 0 && !types.includes('Ingress')) findings.push(`network: ${objectName(policy)}: ingress rules without policyType Ingress`);
    if ((policy.spec.egress || []).length > 0 && !types.includes('Egress')) findings.push(`network: ${objectName(policy)}: egress rules without policyType Egress`);
    actual.push(...allowsOf(policy));
  }
  const wanted = new Set(expectedAllows);
  const have = new Set(actual);
  for (const allow of [...have].sort()) if (!wanted.has(allow)) findings.push(`network: unexpected allow: ${allow}`);
  for (const allow of [...wanted].sort()) if (!have.has(allow)) findings.push(`network: missing allow: ${allow}`);
  return findings;
}

// ---------------------------------------------------------------------------------------------------

function recipeFindings(objects, expected) {
  const findings = [];
  for (const object of objects) {
    if (object.kind !== 'Namespace' && (object.metadata || {}).namespace !== namespace) {
      findings.push(`policy: ${objectName(object)}: namespace ${(object.metadata || {}).namespace}, not ${namespace}`);
    }
  }
  const workloads = objects.filter((object) => workloadKinds.has(object.kind));
  const names = workloads.map(objectName).sort();
  const wantedNames = Object.keys(expected.workloads).sort();
  if (JSON.stringify(names) !== JSON.stringify(wantedNames)) findings.push(`policy: workloads ${names}, expected ${wantedNames}`);
  for (const workload of workloads) {
    findings.push(...podFindings(workload));
    const wanted = expected.workloads[objectName(workload)];
    if (wanted) findings.push(...(wanted.validator ? validatorWiringFindings : wiringFindings)(objects, workload, wanted));
  }
  const budgets = objects.filter((object) => object.kind === 'PodDisruptionBudget');
  const covered = budgets.map((budget) => ((budget.spec.selector || {}).matchLabels || {})['app.kubernetes.io/name']).sort();
  if (JSON.stringify(covered) !== JSON.stringify([...expected.disruptionBudgets].sort())) {
    findings.push(`policy: disruption budgets for ${covered}, expected ${expected.disruptionBudgets}`);
  }
  for (const budget of budgets) {
    const name = budget.spec.selector.matchLabels['app.kubernetes.io/name'];
    const workload = workloads.find((candidate) => candidate.metadata.name === name);
    if (workload && !(budget.spec.minAvailable >= 1 && budget.spec.minAvailable < workload.spec.replicas)) {
      findings.push(`policy: ${objectName(budget)}: minAvailable ${budget.spec.minAvailable} must keep some and allow one eviction of ${workload.spec.replicas}`);
    }
  }
  findings.push(...networkFindings(objects, expected.allows));
  return findings;
}

function allFindings(objects, expected) {
  return [...schemaFindings(objects), ...recipeFindings(objects, expected)];
}

// Broken copies: each must be caught with a finding containing `expect`, or the rules are toothless.
const brokenCopies = [
  {
    what: 'a container without readOnlyRootFilesystem',
    expect: 'readOnlyRootFilesystem is not true',
    breakIt: (objects) => { delete workloadOf(objects).spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem; },
  },
  {
    what: 'an init container that may escalate privileges',
    expect: 'allowPrivilegeEscalation is not false',
    breakIt: (objects) => { workloadOf(objects).spec.template.spec.initContainers[0].securityContext.allowPrivilegeEscalation = true; },
  },
  {
    what: 'a container that keeps its capabilities',
    expect: 'capabilities do not drop ALL',
    breakIt: (objects) => { workloadOf(objects).spec.template.spec.containers[0].securityContext.capabilities = {}; },
  },
  {
    what: 'a pod without a seccomp profile',
    expect: 'seccompProfile is not RuntimeDefault',
    breakIt: (objects) => {
      const spec = workloadOf(objects).spec.template.spec;
      delete spec.securityContext.seccompProfile;
      delete spec.containers[0].securityContext.seccompProfile;
    },
  },
  {
    what: 'a container without limits',
    expect: 'no memory in resources.limits',
    breakIt: (objects) => { delete workloadOf(objects).spec.template.spec.containers[0].resources.limits; },
  },
  {
    what: 'a plaintext gRPC readiness probe',
    expect: 'plaintext grpc probe',
    breakIt: (objects) => { workloadOf(objects).spec.template.spec.containers[0].readinessProbe = { grpc: { port: 7443 } }; },
  },
  {
    what: 'a secret volume readable by everyone',
    expect: 'not 0400',
    breakIt: (objects) => { workloadOf(objects).spec.template.spec.volumes.find((volume) => volume.secret).secret.defaultMode = 0o444; },
  },
  {
    what: 'a PIN in an environment variable',
    expect: 'secret in environment variable',
    breakIt: (objects) => {
      workloadOf(objects).spec.template.spec.containers[0].env.push({ name: 'PIN', valueFrom: { secretKeyRef: { name: 'signerd-hsm', key: 'user.pin' } } });
    },
  },
  {
    what: 'a config file no mount provides',
    expect: 'comes from no Secret mounted into prepare',
    breakIt: (objects) => {
      const configMap = objects.find((object) => object.kind === 'ConfigMap' && object.data && object.data['signerd.yaml']);
      configMap.data['signerd.yaml'] = configMap.data['signerd.yaml'].replace('/run/signer/secrets/tls/server.key', '/run/signer/secrets/missing/server.key');
    },
  },
  {
    what: 'no default-deny policy',
    expect: 'no default-deny policy',
    breakIt: (objects) => { objects.splice(objects.findIndex((object) => object.kind === 'NetworkPolicy' && object.metadata.name === 'default-deny'), 1); },
  },
  {
    what: 'signerd open to every pod',
    expect: 'unexpected allow: ingress pods{app.kubernetes.io/name=signerd} <- anywhere TCP/7443',
    breakIt: (objects) => { delete objects.find((object) => object.metadata.name === 'signerd-ingress').spec.ingress[0].from; },
  },
  {
    what: 'a StatefulSet with a mistyped field',
    expect: 'schema: StatefulSet/signerd: /spec/replicas must be integer',
    breakIt: (objects) => { workloadOf(objects).spec.replicas = 'one'; },
  },
];

// Broken copies of the ha overlay's validator pod and its policies.
const validatorOf = (objects) => objects.find((object) => objectName(object) === 'StatefulSet/validator');
const containerOf = (objects, name) => validatorOf(objects).spec.template.spec.containers.find((container) => container.name === name);
const gatewayConfigMap = (objects) => objects.find((object) => object.kind === 'ConfigMap' && object.data && object.data['signer-gateway.yaml']);
const validatorBrokenCopies = [
  {
    what: 'a privileged gateway sidecar',
    expect: 'container signer-gateway: privileged',
    breakIt: (objects) => { containerOf(objects, 'signer-gateway').securityContext.privileged = true; },
  },
  {
    what: 'a node container that keeps its capabilities',
    expect: 'container polkadot: capabilities do not drop ALL',
    breakIt: (objects) => { delete containerOf(objects, 'polkadot').securityContext.capabilities; },
  },
  {
    what: 'a node container with a writable root filesystem',
    expect: 'container polkadot: readOnlyRootFilesystem is not true',
    breakIt: (objects) => { containerOf(objects, 'polkadot').securityContext.readOnlyRootFilesystem = false; },
  },
  {
    what: 'the gateway\'s TLS Secret not mounted into prepare',
    expect: '/run/signer/secrets/tls/gateway.key comes from no Secret mounted into prepare',
    breakIt: (objects) => {
      const prepare = validatorOf(objects).spec.template.spec.initContainers[0];
      prepare.volumeMounts = prepare.volumeMounts.filter((mount) => mount.name !== 'gateway-tls');
    },
  },
  {
    what: 'the gateway\'s config volume not shared with prepare',
    expect: 'the gateway does not see prepare\'s /run/signer',
    breakIt: (objects) => {
      const gateway = containerOf(objects, 'signer-gateway');
      gateway.volumeMounts = gateway.volumeMounts.filter((mount) => mount.name !== 'gateway-run');
    },
  },
  {
    what: 'a gateway on a Unix socket the node cannot dial',
    expect: 'the node\'s remote keystore dials https://HOST:PORT only',
    breakIt: (objects) => {
      const configMap = gatewayConfigMap(objects);
      configMap.data['signer-gateway.yaml'] = configMap.data['signer-gateway.yaml'].replace(/^listen:\n(  .*\n|    .*\n)+/m, 'listen:\n  unix_socket: /run/signer/keystore.sock\n');
    },
  },
  {
    what: 'the node dialling a signer directly instead of its gateway',
    expect: 'does not dial its gateway',
    breakIt: (objects) => {
      const node = containerOf(objects, 'polkadot');
      node.args = node.args.map((argument) => argument.startsWith('--remote-signer=') ? '--remote-signer=https://signerd-0.signerd.signer.svc.cluster.local:7443' : argument);
    },
  },
  {
    what: 'the node\'s client key from no Secret',
    expect: 'the node\'s --remote-signer-key /data/client.key comes from no read-only Secret mount',
    breakIt: (objects) => {
      const node = containerOf(objects, 'polkadot');
      node.args = node.args.map((argument) => argument.startsWith('--remote-signer-key=') ? '--remote-signer-key=/data/client.key' : argument);
    },
  },
  {
    what: 'the node\'s RPC opened to the pod network',
    expect: 'the node\'s RPC is opened beyond loopback (--unsafe-rpc-external)',
    breakIt: (objects) => { containerOf(objects, 'polkadot').args.push('--unsafe-rpc-external'); },
  },
  {
    what: 'a gateway pool missing a signer',
    expect: 'the gateway\'s upstreams',
    breakIt: (objects) => {
      const configMap = gatewayConfigMap(objects);
      configMap.data['signer-gateway.yaml'] = configMap.data['signer-gateway.yaml'].replace(/^  - \{name: signerd-2.*\n/m, '');
    },
  },
  {
    what: 'a gateway liveness probe that fails while the signers are down',
    expect: 'container signer-gateway: livenessProbe is not GET /metrics',
    breakIt: (objects) => {
      const gateway = containerOf(objects, 'signer-gateway');
      gateway.livenessProbe = structuredClone(gateway.readinessProbe);
    },
  },
  {
    what: 'a node probe the kubelet sends to the loopback-only RPC port',
    expect: 'container polkadot: readinessProbe is not curl -f',
    breakIt: (objects) => { containerOf(objects, 'polkadot').readinessProbe = { httpGet: { path: '/health/readiness', port: 9944 } }; },
  },
  {
    what: 'two pods of one validator',
    expect: 'StatefulSet/validator: 2 replicas, expected 1',
    breakIt: (objects) => { validatorOf(objects).spec.replicas = 2; },
  },
  {
    what: 'the validator allowed to reach anything',
    expect: 'unexpected allow: egress pods{app.kubernetes.io/name=validator} -> anywhere all ports',
    breakIt: (objects) => {
      const rule = objects.find((object) => objectName(object) === 'NetworkPolicy/validator').spec.egress.find((candidate) => candidate.to && candidate.to.some((peer) => peer.podSelector && !peer.namespaceSelector));
      delete rule.to;
      delete rule.ports;
    },
  },
  {
    what: 'signerd closed to the validator pod',
    expect: 'missing allow: ingress pods{app.kubernetes.io/name=signerd} <- pods{app.kubernetes.io/name=validator} TCP/7443',
    breakIt: (objects) => { objects.splice(objects.findIndex((object) => objectName(object) === 'NetworkPolicy/signerd-ingress-validator'), 1); },
  },
  {
    what: 'a validator pod with a mistyped field',
    expect: 'schema: StatefulSet/validator: /spec/template/spec/containers/1/ports/0/containerPort must be integer',
    breakIt: (objects) => { containerOf(objects, 'signer-gateway').ports[0].containerPort = 'metrics'; },
  },
];

function workloadOf(objects) {
  return objects.find((object) => objectName(object) === 'StatefulSet/signerd');
}

function main() {
  let failed = false;
  const rendered = {};
  const names = kustomizations();
  for (const name of names) {
    const expected = EXPECTED[name];
    if (!expected) {
      console.error(`k8s: ${name}: a kustomization with no expectations in check_k8s.js (EXPECTED)`);
      failed = true;
      continue;
    }
    const objects = render(name);
    rendered[name] = objects;
    const findings = allFindings(objects, expected);
    const pods = objects.filter((object) => workloadKinds.has(object.kind));
    const containers = pods.reduce((sum, pod) => sum + (podSpecOf(pod).initContainers || []).length + podSpecOf(pod).containers.length, 0);
    if (findings.length > 0) {
      failed = true;
      for (const finding of findings) console.error(`k8s: ${name}: ${finding}`);
    } else {
      console.log(`k8s: ${name}: ${objects.length} objects valid against the schemas; ${pods.length} pod templates (${containers} containers) and ${expected.allows.length} network allows as required`);
    }
  }
  for (const name of Object.keys(EXPECTED)) {
    if (!names.includes(name)) {
      console.error(`k8s: ${name}: expected but not found`);
      failed = true;
    }
  }
  for (const [name, copies] of [['base', brokenCopies], ['overlays/ha', validatorBrokenCopies]]) {
    if (!rendered[name]) throw new Error(`${name} did not render; no broken copies to test`);
    for (const broken of copies) {
      const objects = structuredClone(rendered[name]);
      broken.breakIt(objects);
      const findings = allFindings(objects, EXPECTED[name]);
      if (!findings.some((finding) => finding.includes(broken.expect))) {
        console.error(`k8s: broken copy of ${name} not caught: ${broken.what} (wanted a finding with "${broken.expect}", got: ${findings.join(' | ') || 'none'})`);
        failed = true;
      }
    }
  }
  if (failed) process.exit(1);
  console.log(`k8s: ${brokenCopies.length} deliberately broken copies of the base and ${validatorBrokenCopies.length} of the ha validator pod each caught`);
}

main();
