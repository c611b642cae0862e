/**
 * The cluster configuration: docker-compose.yml and the worker's Dockerfile. CI has no Docker engine,
 * so nothing is built or started here. Two checks instead:
 * - a schema test, always: the compose file parsed and checked for what the cluster needs (every
 *   service has an image or a build that exists, the worker is built from the Dockerfile with an
 *   NVIDIA GPU reservation, every TEMPORAL_ADDRESS names the server's service and port, named volumes
 *   are declared, depends_on names services that exist), and for what the trainer's sandbox needs in
 *   the worker's container (bubblewrap and AUTORESEARCH_SANDBOX=required in the image, the seccomp
 *   profile and capabilities bwrap needs, no proposer key without the sandbox requirement). Broken
 *   copies of the files must fail it.
 * - `docker-compose config` (or `docker compose config`) when installed (scripts/install-debian-package.sh
 *   installs Debian's package in the test command): Compose's own validation, which needs no engine.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSecretName } from '../../src/activities/secrets.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');

// js-yaml is already installed (ESLint and Jest depend on it); both its majors have `load`.
const { load: parseYaml } = createRequire(import.meta.url)('js-yaml') as { load: (text: string) => unknown };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `${VAR:-default}` / `${VAR-default}` resolve to their default (CI's environment is not the user's); `$$` is a literal `$`. */
function interpolate(value: string): string {
  return value
    .replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}/g, '$1')
    .replace(/\$\{[A-Za-z_][A-Za-z0-9_]*\}/g, '')
    .replace(/\$\$/g, '$');
}

/** A service's environment as a map, whichever of Compose's two forms it is written in (null: passed through from the shell). */
function environment(service: Obj): Record<string, string | null> {
  const env = service.environment;
  const out: Record<string, string | null> = {};
  if (Array.isArray(env)) {
    for (const item of env) {
      const [k, ...v] = String(item).split('=');
      out[k] = v.length ? interpolate(v.join('=')) : null;
    }
  } else if (isObj(env)) {
    for (const [k, v] of Object.entries(env)) out[k] = v === null || v === undefined ? null : interpolate(String(v));
  }
  return out;
}

/** The volumes a service mounts, short or long syntax: named volumes have no `/`, `.` or `~` at the start of their source. */
function mounts(service: Obj): { source: string; target: string; named: boolean }[] {
  const list = Array.isArray(service.volumes) ? service.volumes : [];
  return list.map((m) => {
    if (isObj(m)) {
      const source = String(m.source ?? '');
      return { source, target: String(m.target ?? ''), named: m.type === 'volume' && source !== '' };
    }
    const [source, target = ''] = interpolate(String(m)).split(':');
    const named = target !== '' && !/^[./~]/.test(source);
    return { source: target === '' ? '' : source, target: target === '' ? source : target, named };
  });
}

function dependsOn(service: Obj): { name: string; condition: string }[] {
  const d = service.depends_on;
  if (Array.isArray(d)) return d.map((name) => ({ name: String(name), condition: 'service_started' }));
  if (isObj(d)) return Object.entries(d).map(([name, v]) => ({ name, condition: String((isObj(v) && v.condition) ?? 'service_started') }));
  return [];
}

const imageName = (image: unknown) => String(image ?? '').replace(/:[^/:]*$/, '');
const imageTag = (image: unknown) => /:([^/:]+)$/.exec(String(image ?? ''))?.[1];

/** The capabilities Docker gives a container by default (the seccomp profile's `includes.caps` are read against these plus cap_add). */
const DOCKER_DEFAULT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'NET_BIND_SERVICE', 'NET_RAW', 'SYS_CHROOT', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP'];
const CLONE_NEWNS = 0x20000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const SIGCHLD = 17;

/**
 * Whether a Docker seccomp profile lets an amd64 container holding `caps` call `name` with `arg0` as
 * its first argument (undefined: any value), rule by rule as Docker reads them (includes/excludes of
 * arches and capabilities; args compared with ==, != or masked ==). The default action is assumed to
 * refuse (seccompProblems checks it).
 */
function seccompAllows(profile: Obj, caps: string[], name: string, arg0?: number): boolean {
  const have = new Set(caps.map((c) => `CAP_${c.replace(/^CAP_/, '')}`));
  const rules = Array.isArray(profile.syscalls) ? profile.syscalls.filter(isObj) : [];
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  return rules.some((r) => {
    if (r.action !== 'SCMP_ACT_ALLOW' || !list(r.names).includes(name)) return false;
    const inc = isObj(r.includes) ? r.includes : {};
    const exc = isObj(r.excludes) ? r.excludes : {};
    if (list(inc.arches).length && !list(inc.arches).includes('amd64')) return false;
    if (list(inc.caps).some((c) => !have.has(c))) return false;
    if (list(exc.arches).includes('amd64')) return false;
    if (list(exc.caps).some((c) => have.has(c))) return false;
    const args = Array.isArray(r.args) ? r.args.filter(isObj) : [];
    return args.every((a) => {
      if (a.index !== 0) return true; // only the first argument is asked about
      if (arg0 === undefined) return false; // a condition on it: not "any value"
      const value = Number(a.value);
      const two = Number(a.valueTwo ?? 0);
      if (a.op === 'SCMP_CMP_EQ') return arg0 === value;
      if (a.op === 'SCMP_CMP_NE') return arg0 !== value;
      if (a.op === 'SCMP_CMP_MASKED_EQ') return Number(BigInt(arg0) & BigInt(value)) === two;
      return false;
    });
  });
}

/** Everything wrong with the worker's seccomp profile, for a container holding `caps`. */
function seccompProblems(profile: unknown, caps: string[]): string[] {
  if (!isObj(profile)) return ['seccomp profile: not a JSON object'];
  const problems: string[] = [];
  // An error action by default: an allow-list, not "unconfined" in disguise.
  if (!['SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP'].includes(String(profile.defaultAction))) {
    problems.push(`seccomp profile: defaultAction is ${String(profile.defaultAction)}, not an error action`);
  }
  // What bubblewrap calls, run as root, to make the sandbox.
  for (const name of ['mount', 'umount2', 'pivot_root']) if (!seccompAllows(profile, caps, name)) problems.push(`seccomp profile: ${name} not allowed (bubblewrap needs it)`);
  if (!seccompAllows(profile, caps, 'clone', SIGCHLD | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET)) problems.push('seccomp profile: clone with new mount, PID and network namespaces not allowed (bubblewrap needs it)');
  if (!seccompAllows(profile, caps, 'clone', SIGCHLD)) problems.push('seccomp profile: a plain clone (fork) not allowed');
  // What it promises not to allow: user namespaces, and clone3, whose flags no filter can read.
  if (seccompAllows(profile, caps, 'clone', SIGCHLD | CLONE_NEWUSER)) problems.push('seccomp profile: clone may make a user namespace');
  if (seccompAllows(profile, caps, 'unshare', CLONE_NEWUSER)) problems.push('seccomp profile: unshare may make a user namespace');
  if (seccompAllows(profile, caps, 'clone3')) problems.push('seccomp profile: clone3 allowed (its flags cannot be filtered)');
  for (const name of ['bpf', 'perf_event_open', 'setns', 'kexec_load', 'init_module']) if (seccompAllows(profile, caps, name)) problems.push(`seccomp profile: ${name} allowed`);
  return problems;
}

/** The value a Dockerfile's ENV instructions give `name` (both forms: `ENV A=b C=d`, `ENV A b`); undefined when none. */
function dockerfileEnv(dockerfile: string, name: string): string | undefined {
  const joined = dockerfile.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n').replace(/\\\n/g, ' ');
  let value: string | undefined;
  for (const m of joined.matchAll(/^ENV\s+(.*)$/gm)) {
    const body = m[1].trim();
    const pairs = [...body.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)];
    if (pairs.length) {
      for (const [, k, v] of pairs) if (k === name) value = v.replace(/^"|"$/g, '');
    } else {
      const [k, ...rest] = body.split(/\s+/);
      if (k === name) value = rest.join(' ');
    }
  }
  return value;
}

/** What the worker's container needs for the trainer's sandbox: problems, as sentences. */
function workerSandboxProblems(worker: Obj, dir: string, dockerfile: string): string[] {
  const problems: string[] = [];
  if (worker.privileged === true) problems.push('worker: privileged (no seccomp, no AppArmor, every capability): the sandbox needs far less');
  const opts = Array.isArray(worker.security_opt) ? worker.security_opt.map(String) : [];
  const capAdd = Array.isArray(worker.cap_add) ? worker.cap_add.map((c) => String(c).replace(/^CAP_/, '')) : [];
  for (const cap of ['SYS_ADMIN', 'NET_ADMIN']) if (!capAdd.includes(cap)) problems.push(`worker: cap_add lacks ${cap} (bubblewrap, run as root, needs it)`);
  if (capAdd.includes('ALL')) problems.push('worker: cap_add ALL');
  if (!opts.some((o) => /^apparmor[=:]unconfined$/.test(o))) problems.push('worker: no apparmor=unconfined (Docker\'s default AppArmor profile denies the sandbox\'s mounts)');
  const seccomp = opts.map((o) => /^seccomp[=:](.*)$/.exec(o)?.[1]).filter((v): v is string => v !== undefined);
  if (seccomp.length !== 1) problems.push(`worker: expected one seccomp profile in security_opt, found ${seccomp.length}`);
  else if (seccomp[0] === 'unconfined') problems.push('worker: seccomp=unconfined');
  else {
    const file = path.resolve(dir, seccomp[0]);
    if (!existsSync(file)) problems.push(`worker: seccomp profile ${seccomp[0]} does not exist`);
    else {
      let profile: unknown;
      try {
        profile = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        problems.push(`worker: seccomp profile ${seccomp[0]} is not valid JSON: ${(e as Error).message}`);
      }
      if (profile !== undefined) problems.push(...seccompProblems(profile, [...DOCKER_DEFAULT_CAPS, ...capAdd]).map((p) => `worker: ${p}`));
    }
  }
  // A proposer key (or any secret) in the worker's environment only where trainers must be sandboxed.
  const env = environment(worker);
  const secrets = Object.keys(env).filter((k) => k !== 'TEMPORAL_ADDRESS' && isSecretName(k));
  const sandbox = env.AUTORESEARCH_SANDBOX !== undefined ? env.AUTORESEARCH_SANDBOX : dockerfileEnv(dockerfile, 'AUTORESEARCH_SANDBOX');
  if (secrets.length && sandbox !== 'required') {
    problems.push(`worker: passes ${secrets.join(', ')} but AUTORESEARCH_SANDBOX is ${sandbox ?? 'unset'}, not required: a trainer could run unsandboxed beside them`);
  }
  return problems;
}

/** Everything wrong with a compose file, as sentences; [] when it is fine. `dir` is the directory relative paths start from. */
function composeProblems(doc: unknown, dir: string): string[] {
  const problems: string[] = [];
  if (!isObj(doc) || !isObj(doc.services)) return ['no `services` map'];
  const services = doc.services as Record<string, unknown>;
  const declaredVolumes = isObj(doc.volumes) ? Object.keys(doc.volumes) : [];
  const usedVolumes = new Set<string>();
  const servers = Object.entries(services)
    .filter(([, s]) => isObj(s) && imageName(s.image) === 'temporalio/server')
    .map(([name]) => name);
  if (servers.length !== 1) problems.push(`expected one temporalio/server service, found ${servers.length}`);

  for (const [name, raw] of Object.entries(services)) {
    if (!isObj(raw)) { problems.push(`${name}: not a map`); continue; }
    const s = raw;
    // Image or build, and the build's context and Dockerfile exist.
    if (s.build !== undefined) {
      const build = isObj(s.build) ? s.build : { context: s.build };
      const context = path.resolve(dir, interpolate(String(build.context ?? '.')));
      const dockerfile = path.resolve(context, interpolate(String(build.dockerfile ?? 'Dockerfile')));
      if (!existsSync(context) || !statSync(context).isDirectory()) problems.push(`${name}: build context ${context} does not exist`);
      else if (!existsSync(dockerfile)) problems.push(`${name}: Dockerfile ${dockerfile} does not exist`);
    } else if (typeof s.image !== 'string' || s.image.trim() === '') {
      problems.push(`${name}: neither image nor build`);
    } else {
      const tag = imageTag(s.image);
      if (!tag || tag === 'latest') problems.push(`${name}: image ${s.image} has no pinned tag`);
      if (imageName(s.image) === 'temporalio/auto-setup') problems.push(`${name}: temporalio/auto-setup is deprecated; use temporalio/server with admin-tools`);
    }
    // depends_on names services that exist, with a condition they can meet.
    for (const dep of dependsOn(s)) {
      const target = services[dep.name];
      if (!isObj(target)) { problems.push(`${name}: depends_on ${dep.name}, which is not a service`); continue; }
      if (dep.name === name) problems.push(`${name}: depends on itself`);
      if (!['service_started', 'service_healthy', 'service_completed_successfully'].includes(dep.condition)) {
        problems.push(`${name}: depends_on ${dep.name} with unknown condition ${dep.condition}`);
      }
      if (dep.condition === 'service_healthy' && !isObj(target.healthcheck)) {
        problems.push(`${name}: waits for ${dep.name} to be healthy, but ${dep.name} has no healthcheck`);
      }
    }
    // Named volumes are declared; bind mounts exist.
    for (const m of mounts(s)) {
      if (m.named) {
        usedVolumes.add(m.source);
        if (!declaredVolumes.includes(m.source)) problems.push(`${name}: named volume ${m.source} is not declared under top-level volumes`);
      } else if (m.source !== '' && m.source.startsWith('.') && !existsSync(path.resolve(dir, m.source))) {
        problems.push(`${name}: bind mount ${m.source} does not exist`);
      }
    }
    // Every TEMPORAL_ADDRESS names the server's service and its frontend port.
    const address = environment(s).TEMPORAL_ADDRESS;
    if (address !== undefined && servers.length === 1 && address !== `${servers[0]}:7233`) {
      problems.push(`${name}: TEMPORAL_ADDRESS is ${address}, expected ${servers[0]}:7233`);
    }
  }
  for (const v of declaredVolumes) if (!usedVolumes.has(v)) problems.push(`volume ${v} is declared but no service mounts it`);

  // The worker.
  const worker = services.worker;
  if (!isObj(worker)) return [...problems, 'no `worker` service'];
  const build = isObj(worker.build) ? worker.build : { context: worker.build };
  if (worker.build === undefined || path.resolve(dir, String(build.context ?? '.')) !== path.resolve(ROOT)
    || path.basename(String(build.dockerfile ?? 'Dockerfile')) !== 'Dockerfile') {
    problems.push('worker: not built from the repository\'s Dockerfile');
  }
  const resources = isObj(worker.deploy) && isObj(worker.deploy.resources) ? worker.deploy.resources : {};
  const devices = isObj(resources.reservations) && Array.isArray(resources.reservations.devices) ? resources.reservations.devices : [];
  if (!devices.some((d) => isObj(d) && d.driver === 'nvidia' && Array.isArray(d.capabilities) && d.capabilities.includes('gpu'))) {
    problems.push('worker: no NVIDIA GPU reservation (deploy.resources.reservations.devices: driver nvidia, capabilities [gpu])');
  }
  const env = environment(worker);
  if (env.TEMPORAL_ADDRESS === undefined) problems.push('worker: no TEMPORAL_ADDRESS');
  for (const key of ['AUTORESEARCH_HOST', 'AUTORESEARCH_GPUS']) if (!env[key]) problems.push(`worker: no ${key}`);
  const repo = env.AUTORESEARCH_REPO;
  const named = mounts(worker).filter((m) => m.named);
  const under = (p: string, dirPath: string) => p === dirPath || p.startsWith(dirPath.replace(/\/$/, '') + '/');
  if (!repo || !path.isAbsolute(repo)) problems.push('worker: AUTORESEARCH_REPO is not an absolute path');
  else if (!named.some((m) => under(repo, m.target))) problems.push(`worker: AUTORESEARCH_REPO ${repo} is not on a named volume`);
  if (!named.some((m) => m.target.endsWith('/.cache/autoresearch'))) problems.push('worker: ~/.cache/autoresearch is not on a named volume');
  if (!named.some((m) => /\/uv$/.test(m.target))) problems.push('worker: no named volume for the uv cache');
  const command = Array.isArray(worker.command) ? worker.command.join(' ') : String(worker.command ?? '');
  if (!/npm run worker -- --gpus /.test(command)) problems.push('worker: its command is not `npm run worker -- --gpus …`');
  const dockerfile = path.resolve(dir, interpolate(String(build.context ?? '.')), interpolate(String(build.dockerfile ?? 'Dockerfile')));
  problems.push(...workerSandboxProblems(worker, dir, existsSync(dockerfile) ? readFileSync(dockerfile, 'utf8') : ''));
  return problems;
}

/** Everything wrong with the worker's Dockerfile and .dockerignore. */
function dockerfileProblems(dockerfile: string, dockerignore: string): string[] {
  const problems: string[] = [];
  const lines = dockerfile.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n');
  const from = /^FROM\s+node:(\d+)/m.exec(lines);
  if (!from || Number(from[1]) < 20) problems.push('Dockerfile: not FROM node:<20 or later>');
  if (!/apt-get install[^\n]*\bgit\b/.test(lines) || !/apt-get install[^\n]*\bpython3\b/.test(lines)) problems.push('Dockerfile: git and python3 not installed');
  if (!/pip install[^\n]*\buv\b/.test(lines)) problems.push('Dockerfile: uv not installed');
  if (!/npm install --no-save/.test(lines)) problems.push('Dockerfile: npm packages not installed with `npm install --no-save`');
  if (/\bnpm ci\b/.test(lines)) problems.push('Dockerfile: `npm ci` refuses this lock file (see scripts/setup.sh)');
  if (!/apt-get install[^\n]*\bbubblewrap\b/.test(lines)) problems.push('Dockerfile: bubblewrap not installed (the trainer\'s sandbox)');
  if (dockerfileEnv(dockerfile, 'AUTORESEARCH_SANDBOX') !== 'required') problems.push('Dockerfile: AUTORESEARCH_SANDBOX is not required (a worker that cannot sandbox would train anyway)');
  if (dockerfileEnv(dockerfile, 'UV_PROJECT_ENVIRONMENT') !== undefined) problems.push('Dockerfile: UV_PROJECT_ENVIRONMENT set for every worktree (the worker sets it per run, read-only)');
  const envBuilt = lines.search(/^RUN\b.*\bnpm run trainer-env\b/m);
  if (envBuilt < 0) problems.push('Dockerfile: the worker-owned trainer environment is not built (`npm run trainer-env`)');
  else if (envBuilt < lines.search(/^RUN\b.*npm install/m)) problems.push('Dockerfile: `npm run trainer-env` runs before the npm packages are installed');
  if (/\buv sync\b/.test(lines)) problems.push('Dockerfile: `uv sync` builds an environment the worker does not use (npm run trainer-env builds its own)');
  if (/temporal\/install\.sh|temporal server/.test(lines)) problems.push('Dockerfile: the worker image must not need the Temporal CLI');
  const ignored = dockerignore.split('\n').map((l) => l.trim());
  for (const p of ['node_modules', '.autoresearch', '.venv']) if (!ignored.includes(p)) problems.push(`.dockerignore: ${p} not ignored`);
  return problems;
}

const composeText = readFileSync(COMPOSE_FILE, 'utf8');
const mutate = (from: string | RegExp, to: string) => {
  const changed = composeText.replace(from, to);
  if (changed === composeText) throw new Error(`the mutation ${String(from)} does not apply to docker-compose.yml any more`);
  return parseYaml(changed);
};

describe('docker-compose.yml (schema test)', () => {
  test('has what the cluster needs', () => {
    expect(composeProblems(parseYaml(composeText), ROOT)).toEqual([]);
  });

  test('the worker Dockerfile and .dockerignore have what the worker needs', () => {
    expect(dockerfileProblems(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'), readFileSync(path.join(ROOT, '.dockerignore'), 'utf8'))).toEqual([]);
  });

  // The checks themselves: each broken copy of the file must be caught.
  test.each([
    ['an undeclared named volume', /^ {2}uv-cache:.*$/m, '', /uv-cache is not declared/],
    ['a depends_on that names no service', 'temporal-setup:\n        condition: service_completed_successfully', 'temporal-setupx:\n        condition: service_completed_successfully', /depends_on temporal-setupx/],
    ['a worker without a GPU reservation', 'driver: nvidia', 'driver: amd', /no NVIDIA GPU reservation/],
    ['a TEMPORAL_ADDRESS on another port', 'TEMPORAL_ADDRESS: ${TEMPORAL_ADDRESS:-temporal:7233}', 'TEMPORAL_ADDRESS: ${TEMPORAL_ADDRESS:-temporal:7234}', /worker: TEMPORAL_ADDRESS is temporal:7234/],
    ['a TEMPORAL_ADDRESS naming no server', 'TEMPORAL_ADDRESS: temporal:7233\n      TEMPORAL_CORS', 'TEMPORAL_ADDRESS: temporalx:7233\n      TEMPORAL_CORS', /temporal-ui: TEMPORAL_ADDRESS is temporalx:7233/],
    ['a build from a missing Dockerfile', 'dockerfile: Dockerfile', 'dockerfile: Dockerfile.missing', /Dockerfile .* does not exist/],
    ['a service with neither image nor build', 'image: temporalio/ui:', 'imagex: temporalio/ui:', /temporal-ui: neither image nor build/],
    ['an unpinned image', /temporalio\/ui:[\d.]+/, 'temporalio/ui:latest', /no pinned tag/],
    ['a wait for health without a healthcheck', 'healthcheck:\n      test: ["CMD", "nc"', 'x-healthcheck:\n      test: ["CMD", "nc"', /temporal has no healthcheck/],
    ['a worker with seccomp unconfined', 'seccomp=docker/seccomp-bwrap.json', 'seccomp=unconfined', /worker: seccomp=unconfined/],
    ['a worker without a seccomp profile', '      - seccomp=docker/seccomp-bwrap.json\n', '', /worker: expected one seccomp profile in security_opt, found 0/],
    ['a missing seccomp profile', 'seccomp=docker/seccomp-bwrap.json', 'seccomp=docker/missing.json', /seccomp profile docker\/missing\.json does not exist/],
    ['a worker without CAP_SYS_ADMIN', 'cap_add: [SYS_ADMIN, NET_ADMIN]', 'cap_add: [NET_ADMIN]', /cap_add lacks SYS_ADMIN/],
    ['a worker without CAP_NET_ADMIN', 'cap_add: [SYS_ADMIN, NET_ADMIN]', 'cap_add: [SYS_ADMIN]', /cap_add lacks NET_ADMIN/],
    ['a privileged worker', 'init: true ', 'privileged: true\n    init: true ', /worker: privileged/],
    ['a worker under AppArmor\'s default profile', '      - apparmor=unconfined\n', '', /no apparmor=unconfined/],
    ['a proposer key with the sandbox turned off', 'AUTORESEARCH_GPUS: ${AUTORESEARCH_GPUS:-0}', 'AUTORESEARCH_GPUS: ${AUTORESEARCH_GPUS:-0}\n      AUTORESEARCH_SANDBOX: "0"', /passes ANTHROPIC_API_KEY.* but AUTORESEARCH_SANDBOX is 0, not required/],
    ['a proposer key with the sandbox optional', 'AUTORESEARCH_GPUS: ${AUTORESEARCH_GPUS:-0}', 'AUTORESEARCH_GPUS: ${AUTORESEARCH_GPUS:-0}\n      AUTORESEARCH_SANDBOX: ""', /passes ANTHROPIC_API_KEY.* not required/],
  ])('catches %s', (_what, from, to, problem) => {
    expect(composeProblems(mutate(from, to), ROOT).join('\n')).toMatch(problem);
  });

  const dockerfileText = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const dockerignoreText = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8');
  test.each([
    ['no bubblewrap', ' ca-certificates bubblewrap ', ' ca-certificates ', /bubblewrap not installed/],
    ['no sandbox requirement', /^ {4}AUTORESEARCH_SANDBOX=required \\\n/m, '', /AUTORESEARCH_SANDBOX is not required/],
    ['the sandbox made optional', /^( +)AUTORESEARCH_SANDBOX=required/m, '$1AUTORESEARCH_SANDBOX=1', /AUTORESEARCH_SANDBOX is not required/],
    ['the requirement undone by a later ENV', 'ENV AUTORESEARCH_REPO=/app', 'ENV AUTORESEARCH_REPO=/app AUTORESEARCH_SANDBOX=0', /AUTORESEARCH_SANDBOX is not required/],
    ['a global UV_PROJECT_ENVIRONMENT', 'ENV AUTORESEARCH_REPO=/app', 'ENV UV_PROJECT_ENVIRONMENT=/app/trainer/.venv\nENV AUTORESEARCH_REPO=/app', /UV_PROJECT_ENVIRONMENT set for every worktree/],
    ['a global UV_PROJECT_ENVIRONMENT (space form)', 'ENV AUTORESEARCH_REPO=/app', 'ENV UV_PROJECT_ENVIRONMENT /app/trainer/.venv\nENV AUTORESEARCH_REPO=/app', /UV_PROJECT_ENVIRONMENT set for every worktree/],
    ['no worker-owned environment', /^RUN UV_NO_CACHE=1 npm run trainer-env$/gm, 'RUN true', /trainer environment is not built/],
    ['a shared uv sync', 'COPY . .', 'COPY . .\nRUN cd trainer && uv sync --frozen --no-cache', /`uv sync` builds an environment the worker does not use/],
  ])('catches a Dockerfile with %s', (_what, from, to, problem) => {
    const changed = dockerfileText.replace(from, to);
    if (changed === dockerfileText) throw new Error(`the mutation ${String(from)} does not apply to the Dockerfile any more`);
    expect(dockerfileProblems(changed, dockerignoreText).join('\n')).toMatch(problem);
  });

  const profileFile = path.join(ROOT, 'docker', 'seccomp-bwrap.json');
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as Obj;
  const workerCaps = [...DOCKER_DEFAULT_CAPS, 'SYS_ADMIN', 'NET_ADMIN'];
  const withRules = (edit: (rules: Obj[]) => Obj[]) => ({ ...profile, syscalls: edit(structuredClone(profile.syscalls as Obj[])) });
  const without = (name: string) => withRules((rules) => rules.map((r) => ({ ...r, names: (r.names as string[]).filter((n) => n !== name) })));
  test('the seccomp profile allows what bubblewrap needs and no more than it says', () => {
    expect(seccompProblems(profile, workerCaps)).toEqual([]);
  });
  test.each([
    ['an allow-all default', () => ({ ...profile, defaultAction: 'SCMP_ACT_ALLOW' }), /defaultAction is SCMP_ACT_ALLOW, not an error action/],
    ['a log-only default', () => ({ ...profile, defaultAction: 'SCMP_ACT_LOG' }), /not an error action/],
    ['no pivot_root (Docker\'s default)', () => without('pivot_root'), /pivot_root not allowed/],
    ['no mount', () => without('mount'), /mount not allowed/],
    ['clone without namespaces (Docker\'s default without CAP_SYS_ADMIN)', () => withRules((rules) => rules.map((r) => (
      (r.names as string[]).includes('clone') && Array.isArray(r.args) ? { ...r, args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }] } : r))), /clone with new mount, PID and network namespaces not allowed/],
    ['mount only with a capability the container lacks', () => withRules((rules) => rules.map((r) => (
      (r.names as string[]).includes('mount') ? { ...r, includes: { caps: ['CAP_SYS_BOOT'] } } : r))), /mount not allowed/],
    ['user namespaces', () => withRules((rules) => [...rules, { names: ['unshare'], action: 'SCMP_ACT_ALLOW' }]), /unshare may make a user namespace/],
    ['clone3 allowed', () => withRules((rules) => [...rules, { names: ['clone3'], action: 'SCMP_ACT_ALLOW' }]), /clone3 allowed/],
    ['bpf (Docker\'s default with CAP_SYS_ADMIN)', () => withRules((rules) => [...rules, { names: ['bpf'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } }]), /bpf allowed/],
  ])('catches a seccomp profile with %s', (_what, make, problem) => {
    expect(seccompProblems(make(), workerCaps).join('\n')).toMatch(problem);
  });
  test('a rule for a capability the worker has not is not counted', () => {
    const onlyWithBpf = withRules((rules) => [...rules, { names: ['bpf'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_BPF'] } }]);
    expect(seccompProblems(onlyWithBpf, workerCaps)).toEqual([]);
  });
});

/** `docker-compose` (Debian's package) or the `docker compose` plugin, whichever works here; none: null. */
function composeCommand(): string[] | null {
  for (const cmd of [['docker-compose'], ['docker', 'compose']]) {
    const r = spawnSync(cmd[0], [...cmd.slice(1), 'version'], { encoding: 'utf8' });
    if (r.status === 0) return cmd;
  }
  return null;
}
const compose = composeCommand();
if (!compose) {
  console.warn('skipping `docker-compose config`: neither docker-compose nor the docker compose plugin is installed '
    + '(scripts/install-debian-package.sh installs Debian\'s docker-compose as root); the schema test ran');
}
const composeConfig = (file: string) => {
  // The user's shell variables are not CI's: the defaults written in the file are what is checked.
  const env = { ...process.env };
  for (const k of ['TEMPORAL_ADDRESS', 'AUTORESEARCH_HOST', 'AUTORESEARCH_GPUS']) delete env[k];
  const [cmd, ...pre] = compose!;
  return spawnSync(cmd, [...pre, '-f', file, 'config', '-q'], { cwd: path.dirname(file), encoding: 'utf8', env });
};

(compose ? describe : describe.skip)('docker-compose config (Compose\'s own validation, no engine needed)', () => {
  test('accepts docker-compose.yml', () => {
    const r = composeConfig(COMPOSE_FILE);
    expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
  });
  test('rejects a copy with an undeclared named volume (it validates, it does not just parse)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'compose-'));
    try {
      const file = path.join(dir, 'docker-compose.yml');
      writeFileSync(file, composeText.replace(/^ {2}uv-cache:.*$/m, ''));
      // Compose reads the worker's seccomp profile (v1 relative to its working directory).
      mkdirSync(path.join(dir, 'docker'));
      copyFileSync(path.join(ROOT, 'docker', 'seccomp-bwrap.json'), path.join(dir, 'docker', 'seccomp-bwrap.json'));
      const r = composeConfig(file);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/uv-cache/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
