// Checks the Terraform module offline: parses every .tf with hcl2json, tests its structure, renders the cloud-init template and runs `cloud-init schema` on it.
//
// Usage: node infra/terraform/check_terraform.js
//
// No provider is downloaded and Terraform itself is not needed: the module is read as HCL, and the
// template is filled the way templatefile() would fill it (it uses plain ${name} placeholders only).
// Then broken copies (a variable without a description, the signer port open to the world, user data
// that is not the template, a cloud-config of the wrong shape) must each be caught.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parse } = require('@cdktf/hcl2json');
const YAML = require('yaml');

const moduleDir = __dirname;
const repoDir = path.resolve(moduleDir, '../..');
const templateName = 'cloud-init.yaml.tftpl';

const requiredVariables = ['region', 'instance_type', 'ssh_public_key', 'ssh_allowed_cidrs', 'chain', 'signer_mode',
  'signer_release_url', 'signer_release_sha256', 'node_release_url', 'node_release_sha256'];
const requiredOutputs = ['instance_id', 'public_ip', 'ssh_command'];
const world = 'world';
// Every inbound port the design needs, and from where: SSH from the operators, the node's peer-to-peer
// port from anywhere, the signer and the metrics only from the networks the operator lists.
const expectedIngress = [
  '22 from var.ssh_allowed_cidrs',
  `30333 from ${world}`,
  '7443 from var.signer_client_cidrs',
  '9615 from var.monitoring_cidrs',
  '9625 from var.monitoring_cidrs',
];
const signerPort = 7443;
// Top-level keys of the cloud-config; `cloud-init schema` (22.4) passes unknown keys silently.
const cloudConfigKeys = new Set(['package_update', 'package_upgrade', 'packages', 'users', 'write_files', 'runcmd']);

// Test values for the template's placeholders that are not files (files are read as main.tf reads them).
const testValues = {
  dev: {
    signer_mode: 'dev', chain: 'westend-dev', node_name: 'validator-1',
    node_args: '--chain westend-dev --name validator-1 --force-authoring', genesis_hash: '',
    signer_listen: '127.0.0.1:7443', signer_metrics_listen: '127.0.0.1:9615', signer_ip_allow: 'localhost',
    signer_release_url: 'https://releases.example.invalid/signer-0.1.0.tar.gz', signer_release_sha256: 'a'.repeat(64),
    node_release_url: 'https://releases.example.invalid/polkadot-patched.tar.gz', node_release_sha256: 'b'.repeat(64),
  },
  prod: {
    signer_mode: 'prod', chain: 'polkadot', node_name: 'validator-1', node_args: '--chain polkadot --name validator-1',
    genesis_hash: '0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3',
    signer_listen: '0.0.0.0:7443', signer_metrics_listen: '0.0.0.0:9615',
    signer_ip_allow: 'localhost 10.0.20.0/24 10.0.30.5/32',
    signer_release_url: 'https://releases.example.invalid/signer-0.1.0.tar.gz', signer_release_sha256: 'c'.repeat(64),
    node_release_url: 'https://releases.example.invalid/polkadot-patched.tar.gz', node_release_sha256: 'd'.repeat(64),
  },
};

// ---------------------------------------------------------------------------------------------------
// The module as data.

async function parseModule() {
  const merged = { variable: {}, output: {}, resource: {}, data: {}, locals: {}, terraform: [], provider: {} };
  const files = fs.readdirSync(moduleDir).filter((name) => name.endsWith('.tf')).sort();
  if (files.length === 0) throw new Error('no .tf files');
  for (const file of files) {
    let parsed;
    try {
      parsed = await parse(file, fs.readFileSync(path.join(moduleDir, file), 'utf8'));
    } catch (error) {
      throw new Error(`${file} does not parse: ${String(error.message || error).split('\n')[0]}`);
    }
    for (const [block, value] of Object.entries(parsed)) {
      if (block === 'locals') for (const locals of value) Object.assign(merged.locals, locals);
      else if (block === 'terraform') merged.terraform.push(...value);
      else if (block === 'resource' || block === 'data') {
        for (const [type, byName] of Object.entries(value)) merged[block][type] = { ...(merged[block][type] || {}), ...byName };
      } else Object.assign((merged[block] = merged[block] || {}), value);
    }
  }
  return { files, module: merged };
}

const one = (blocks) => (Array.isArray(blocks) ? blocks[0] : blocks) || {};

function variableFindings(module) {
  const findings = [];
  for (const [name, blocks] of Object.entries(module.variable)) {
    const variable = one(blocks);
    if (typeof variable.description !== 'string' || variable.description.trim() === '') findings.push(`variable ${name}: no description`);
    if (!variable.type) findings.push(`variable ${name}: no type`);
  }
  for (const name of requiredVariables) if (!module.variable[name]) findings.push(`variable ${name}: missing`);
  for (const name of ['chain', 'signer_mode']) {
    if (module.variable[name] && !(one(module.variable[name]).validation || []).some((rule) => String(rule.condition).includes('contains('))) {
      findings.push(`variable ${name}: no validation of its allowed values`);
    }
  }
  return findings;
}

function outputFindings(module) {
  const findings = [];
  for (const name of requiredOutputs) {
    const output = module.output[name] && one(module.output[name]);
    if (!output) findings.push(`output ${name}: missing`);
    else if (!output.description) findings.push(`output ${name}: no description`);
  }
  return findings;
}

// sourceOf names where a rule's addresses come from: the whole Internet, a variable, or a literal list.
function sourceOf(cidrs) {
  if (Array.isArray(cidrs)) {
    if (cidrs.includes('0.0.0.0/0') || cidrs.includes('::/0')) return world;
    return `[${cidrs.join(', ')}]`;
  }
  const variable = /^\$\{(var\.[a-z0-9_]+)\}$/.exec(String(cidrs));
  return variable ? variable[1] : `expression ${cidrs}`;
}

// ingressRules flattens a security group's static and dynamic ingress blocks into (port, source) pairs;
// a dynamic block's `ingress.value` ports are the numbers its for_each lists.
function ingressRules(group) {
  const rules = [];
  const add = (rule, ports) => {
    const sources = [sourceOf(rule.cidr_blocks || [])];
    if (rule.ipv6_cidr_blocks) sources.push(sourceOf(rule.ipv6_cidr_blocks));
    for (const port of ports) {
      for (const source of new Set(sources)) rules.push({ port, source, protocol: rule.protocol, text: `${port} from ${source}` });
    }
  };
  for (const rule of group.ingress || []) {
    if (rule.from_port !== rule.to_port) rules.push({ text: `ports ${rule.from_port}-${rule.to_port} (a range)`, range: [rule.from_port, rule.to_port], source: sourceOf(rule.cidr_blocks || []) });
    else add(rule, [rule.from_port]);
  }
  for (const dynamic of ((group.dynamic || {}).ingress || [])) {
    const content = one(dynamic.content);
    const listed = (String(dynamic.for_each).match(/\[([0-9, ]+)\]/) || [, ''])[1].split(',').map(Number).filter(Boolean);
    const ports = content.from_port === '${ingress.value}' ? listed : [content.from_port];
    if (content.from_port !== content.to_port) rules.push({ text: `ports ${content.from_port}-${content.to_port} (a range)`, source: sourceOf(content.cidr_blocks || []) });
    else add(content, ports);
  }
  return rules;
}

function networkFindings(module) {
  const findings = [];
  const groups = Object.entries(module.resource.aws_security_group || {});
  if (groups.length !== 1) return [`expected one aws_security_group, found ${groups.length}`];
  const [name, blocks] = groups[0];
  const rules = ingressRules(one(blocks));
  const actual = new Set(rules.map((rule) => rule.text));
  for (const text of [...actual].sort()) if (!expectedIngress.includes(text)) findings.push(`security group ${name}: unexpected ingress ${text}`);
  for (const text of expectedIngress) if (!actual.has(text)) findings.push(`security group ${name}: missing ingress ${text}`);
  for (const rule of rules) {
    if (rule.protocol !== undefined && rule.protocol !== 'tcp') findings.push(`security group ${name}: ingress ${rule.text} is not tcp only`);
    const coversSigner = rule.port === signerPort || (rule.range && rule.range[0] <= signerPort && signerPort <= rule.range[1]);
    if (coversSigner && rule.source === world) findings.push(`security group ${name}: the signer port ${signerPort} is open to 0.0.0.0/0`);
  }
  // A variable that feeds a rule must refuse the whole Internet itself.
  for (const variableName of new Set(rules.map((rule) => rule.source).filter((source) => source.startsWith('var.')))) {
    const variable = module.variable[variableName.slice(4)];
    const conditions = variable ? (one(variable).validation || []).map((rule) => String(rule.condition)) : [];
    if (!conditions.some((condition) => condition.includes('"0.0.0.0/0"') && condition.includes('"::/0"'))) {
      findings.push(`variable ${variableName.slice(4)}: opens a port but does not refuse 0.0.0.0/0 and ::/0`);
    }
  }
  return findings;
}

function instanceFindings(module) {
  const findings = [];
  const instances = Object.entries(module.resource.aws_instance || {});
  if (instances.length !== 1) return [`expected one aws_instance, found ${instances.length}`];
  const [name, blocks] = instances[0];
  const instance = one(blocks);
  const wantedUserData = `\${templatefile("\${path.module}/${templateName}", local.cloud_init_values)}`;
  if (instance.user_data !== wantedUserData) findings.push(`aws_instance ${name}: user_data is not templatefile of ${templateName} with local.cloud_init_values`);
  if (one(instance.metadata_options).http_tokens !== 'required') findings.push(`aws_instance ${name}: instance metadata without session tokens (IMDSv1)`);
  if (one(instance.root_block_device).encrypted !== true) findings.push(`aws_instance ${name}: root volume not encrypted`);
  const lifecycle = one(instance.lifecycle);
  if (!(lifecycle.ignore_changes || []).includes('${user_data}')) findings.push(`aws_instance ${name}: a user data change would replace the host (and its signer's history)`);
  if (!(lifecycle.precondition || []).some((rule) => String(rule.condition).includes('var.signer_mode'))) {
    findings.push(`aws_instance ${name}: no precondition on signer_mode and chain`);
  }
  const pinned = module.terraform.some((block) => Object.values(one(block.required_providers)).every((provider) => provider.version));
  if (!pinned) findings.push('terraform: required_providers without versions');
  return findings;
}

function moduleFindings(module) {
  return [...variableFindings(module), ...outputFindings(module), ...networkFindings(module), ...instanceFindings(module)];
}

// ---------------------------------------------------------------------------------------------------
// The cloud-init template.

// templateValues: each entry of local.cloud_init_values, files read as base64encode(file(...)) reads them.
function templateValues(module, mode) {
  const values = {};
  for (const [key, expression] of Object.entries(module.locals.cloud_init_values || {})) {
    const file = /^\$\{base64encode\(file\("\$\{path\.module\}\/([^"]+)"\)\)\}$/.exec(expression);
    if (file) values[key] = fs.readFileSync(path.join(moduleDir, file[1])).toString('base64');
    else if (key in testValues[mode]) values[key] = testValues[mode][key];
    else throw new Error(`cloud_init_values.${key}: no test value in check_terraform.js`);
  }
  return values;
}

// render fills ${name} placeholders as templatefile() does, and refuses any other template syntax
// (directives, expressions, escapes), which this check could not render faithfully.
function render(template, values) {
  if (/%\{|\$\$\{/.test(template)) throw new Error('the template uses directives or escapes this check does not render');
  const used = new Set();
  const text = template.replace(/\$\{([^}]*)\}/g, (match, name) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`the template uses an expression, \${${name}}`);
    if (!(name in values)) throw new Error(`the template uses \${${name}}, which main.tf does not pass`);
    used.add(name);
    return values[name];
  });
  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length > 0) throw new Error(`main.tf passes ${unused.join(', ')}, which the template never uses`);
  return text;
}

// cloudInitSchema runs Debian's `cloud-init schema` on rendered text; returns its complaint, or null.
function cloudInitSchema(text, label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloud-init-check-'));
  const file = path.join(dir, `${label}.yaml`);
  try {
    fs.writeFileSync(file, text);
    const result = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
    if (result.error) throw new Error(`cannot run cloud-init: ${result.error.message}`);
    if (result.status !== 0 || !result.stdout.includes('Valid cloud-config')) {
      return `${result.stdout} ${result.stderr}`.replace(/\s+/g, ' ').trim();
    }
    return null;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function renderedFindings(text, mode) {
  const findings = [];
  if (!text.startsWith('#cloud-config\n')) findings.push(`${mode}: the user data does not start with #cloud-config`);
  const config = YAML.parse(text);
  for (const key of Object.keys(config)) if (!cloudConfigKeys.has(key)) findings.push(`${mode}: unexpected cloud-config key ${key}`);
  const files = Object.fromEntries((config.write_files || []).map((file) => [file.path, file]));
  const contentOf = (file) => (file.encoding === 'b64' ? Buffer.from(file.content, 'base64').toString('utf8') : file.content);
  // The host gets the repository's files unchanged.
  const copies = {
    '/etc/systemd/system/signerd.service': 'infra/systemd/signerd.service',
    '/usr/lib/sysusers.d/signerd.conf': 'infra/systemd/signerd.sysusers',
    '/etc/systemd/system/polkadot.service': 'infra/terraform/files/polkadot.service',
    '/usr/local/sbin/validator-setup': 'infra/terraform/files/validator-setup.sh',
  };
  for (const [target, source] of Object.entries(copies)) {
    if (!files[target]) findings.push(`${mode}: writes no ${target}`);
    else if (contentOf(files[target]) !== fs.readFileSync(path.join(repoDir, source), 'utf8')) findings.push(`${mode}: ${target} is not ${source}`);
  }
  const setupEnv = files['/etc/validator-setup.env'];
  if (!setupEnv || setupEnv.permissions !== '0600') findings.push(`${mode}: /etc/validator-setup.env missing or not 0600`);
  else {
    for (const line of setupEnv.content.trim().split('\n')) {
      if (!/^[A-Z0-9_]+='[^']*'$/.test(line)) findings.push(`${mode}: /etc/validator-setup.env line is not KEY='value': ${line}`);
    }
  }
  const runcmd = config.runcmd || [];
  if (runcmd.length !== 1 || JSON.stringify(runcmd[0]) !== JSON.stringify(['/usr/local/sbin/validator-setup', '/etc/validator-setup.env'])) {
    findings.push(`${mode}: runcmd does not run validator-setup with its environment file`);
  }
  // What signerd links, as the Ansible role installs it, must be installed here too.
  const role = YAML.parse(fs.readFileSync(path.join(repoDir, 'infra/ansible/roles/signerd/defaults/main.yml'), 'utf8'));
  const packages = Array.isArray(config.packages) ? config.packages : [];
  for (const runtimePackage of role.signerd_runtime_packages) {
    if (!packages.includes(runtimePackage)) findings.push(`${mode}: package ${runtimePackage} (signerd_runtime_packages) not installed`);
  }
  const complaint = cloudInitSchema(text, mode);
  if (complaint) findings.push(`${mode}: cloud-init schema: ${complaint}`);
  return findings;
}

function templateFindings(module, template) {
  const findings = [];
  for (const mode of Object.keys(testValues)) {
    let text;
    try {
      text = render(template, templateValues(module, mode));
    } catch (error) {
      findings.push(`${templateName}: ${error.message}`);
      continue;
    }
    findings.push(...renderedFindings(text, mode));
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------------

const brokenCopies = [
  {
    what: 'a variable without a description',
    expect: 'variable chain: no description',
    breakIt: (module) => { delete one(module.variable.chain).description; },
  },
  {
    what: 'the signer port open to the world',
    expect: 'the signer port 7443 is open to 0.0.0.0/0',
    breakIt: (module) => {
      one(module.resource.aws_security_group.validator).ingress.push({ protocol: 'tcp', from_port: 7443, to_port: 7443, cidr_blocks: ['0.0.0.0/0'] });
    },
  },
  {
    what: 'a port range that swallows the signer port',
    expect: 'the signer port 7443 is open to 0.0.0.0/0',
    breakIt: (module) => {
      one(module.resource.aws_security_group.validator).ingress.push({ protocol: 'tcp', from_port: 7000, to_port: 8000, cidr_blocks: ['0.0.0.0/0'] });
    },
  },
  {
    what: 'a CIDR variable that accepts the whole Internet',
    expect: 'variable monitoring_cidrs: opens a port but does not refuse',
    breakIt: (module) => { one(module.variable.monitoring_cidrs).validation = []; },
  },
  {
    what: 'user data that is not the template',
    expect: 'user_data is not templatefile',
    breakIt: (module) => { one(module.resource.aws_instance.validator).user_data = '#cloud-config\n'; },
  },
  {
    what: 'a missing output',
    expect: 'output public_ip: missing',
    breakIt: (module) => { delete module.output.public_ip; },
  },
];

const brokenTemplates = [
  {
    what: 'a cloud-config whose packages are not a list',
    expect: 'cloud-init schema',
    breakIt: (template) => template.replace(/^packages:\n/m, 'packages: 5\nunused_packages:\n'),
  },
  {
    what: 'a placeholder main.tf does not pass',
    expect: 'which main.tf does not pass',
    breakIt: (template) => template.replace('${chain}', '${chain_name}'),
  },
];

async function main() {
  const { files, module } = await parseModule();
  const template = fs.readFileSync(path.join(moduleDir, templateName), 'utf8');
  const findings = [...moduleFindings(module), ...templateFindings(module, template)];
  let failed = false;
  if (findings.length > 0) {
    failed = true;
    for (const finding of findings) console.error(`terraform: ${finding}`);
  } else {
    console.log(`terraform: ${files.length} .tf files parse; ${Object.keys(module.variable).length} variables described and typed, ` +
      `outputs ${requiredOutputs.join(', ')}, ingress exactly ${expectedIngress.join('; ')}`);
    console.log(`terraform: ${templateName} rendered for ${Object.keys(testValues).join(' and ')} mode: cloud-init schema valid, files as in the repository`);
  }
  for (const broken of brokenCopies) {
    const copy = structuredClone(module);
    broken.breakIt(copy);
    const caught = moduleFindings(copy);
    if (!caught.some((finding) => finding.includes(broken.expect))) {
      console.error(`terraform: broken copy not caught: ${broken.what} (wanted "${broken.expect}", got: ${caught.join(' | ') || 'none'})`);
      failed = true;
    }
  }
  for (const broken of brokenTemplates) {
    const caught = templateFindings(module, broken.breakIt(template));
    if (!caught.some((finding) => finding.includes(broken.expect))) {
      console.error(`terraform: broken template not caught: ${broken.what} (wanted "${broken.expect}", got: ${caught.join(' | ') || 'none'})`);
      failed = true;
    }
  }
  if (failed) process.exit(1);
  console.log(`terraform: ${brokenCopies.length + brokenTemplates.length} deliberately broken copies each caught`);
}

main().catch((error) => {
  console.error(`terraform: ${error.message}`);
  process.exit(1);
});
