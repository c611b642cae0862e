/**
 * The cluster configuration: docker-compose.yml and the worker's Dockerfile. CI has no Docker engine,
 * so nothing is built or started here. Two checks instead:
 * - a schema test, always: the compose file parsed and checked for what the cluster needs (every
 *   service has an image or a build that exists, the worker is built from the Dockerfile with an
 *   NVIDIA GPU reservation, every TEMPORAL_ADDRESS names the server's service and port, named volumes
 *   are declared, depends_on names services that exist). Broken copies of the file must fail it.
 * - `docker-compose config` (or `docker compose config`) when installed (scripts/install-debian-package.sh
 *   installs Debian's package in the test command): Compose's own validation, which needs no engine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
  if (!/cd trainer && uv sync --frozen/.test(lines)) problems.push('Dockerfile: the trainer environment is not built (`cd trainer && uv sync --frozen`)');
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
  ])('catches %s', (_what, from, to, problem) => {
    expect(composeProblems(mutate(from, to), ROOT).join('\n')).toMatch(problem);
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
      const r = composeConfig(file);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/uv-cache/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
