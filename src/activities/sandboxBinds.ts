/**
 * The binds every sandbox starts from: the system's directories and the harmless files of /etc
 * read-only, the lane's GPU, a program and the libraries it needs, the worker's Python environment.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { TrainerPython } from '../api/activities.js';

/** The system's directories, read-only in every sandbox: programs, libraries, and /sys (CPU and PCI topology for torch and CUDA). */
export const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/opt', '/sys'];

/**
 * What of /etc a trainer reads: the dynamic linker's cache (Triton runs `ldconfig -p`), users and
 * groups, name resolution, time zone, certificates, Python's and the alternatives' links. Not the
 * rest (/etc/shadow, SSH host keys, service credentials).
 */
const ETC_FILES = [
  'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'passwd', 'group', 'nsswitch.conf', 'hosts', 'host.conf', 'resolv.conf', 'gai.conf',
  'localtime', 'timezone', 'alternatives', 'os-release', 'debian_version', 'lsb-release', 'mime.types', 'protocols', 'services',
  'ssl/certs', 'ca-certificates', 'ca-certificates.conf', 'pki/tls/certs', 'nvidia', 'OpenCL', 'vulkan',
];

export function isSystemPath(p: string): boolean {
  return p === '/' || SYSTEM_DIRS.some((d) => p === d || p.startsWith(`${d}/`));
}

/** `--ro-bind` for a path, or `--symlink` where it is a link (merged /usr: /lib -> usr/lib), so the sandbox has the same layout. */
export function roBindSystem(p: string): string[] {
  const stat = lstatSync(p, { throwIfNoEntry: false });
  if (!stat) return [];
  return stat.isSymbolicLink() ? ['--symlink', readlinkSync(p), p] : ['--ro-bind', p, p];
}

/** The host's NVIDIA GPUs in PCI bus order (CUDA's order on a machine of one kind of GPU): their device minor and UUID. */
function nvidiaGpus(): { minor: string; uuid: string }[] {
  const root = '/proc/driver/nvidia/gpus';
  const gpus: { bus: string; minor: string; uuid: string }[] = [];
  for (const bus of (existsSync(root) ? readdirSync(root) : []).sort()) {
    const info = readFileSync(path.join(root, bus, 'information'), 'utf8');
    const minor = /^Device Minor:\s*(\d+)/m.exec(info)?.[1];
    const uuid = /^GPU UUID:\s*(\S+)/m.exec(info)?.[1];
    if (minor !== undefined && uuid !== undefined) gpus.push({ bus, minor, uuid });
  }
  return gpus;
}

/**
 * The GPU device nodes to pass through, and the CUDA_VISIBLE_DEVICES the trainer gets. A lane with a
 * GPU gets only that GPU's node (plus the driver's control nodes), named by its UUID, so a trainer
 * that drops the variable still cannot reach another lane's GPU. A lane without one (the default
 * single-lane worker) gets every GPU, as a process outside the sandbox would.
 */
export function gpuPassThrough(gpu: string | undefined, devices = nvidiaDeviceNames(), gpus = safeNvidiaGpus()): { args: string[]; visible?: string } {
  const all = devices.map((d) => path.join('/dev', d));
  const bind = (list: string[]) => list.flatMap((d) => ['--dev-bind', d, d]);
  if (gpu === undefined) return { args: bind(all) };
  const index = Number(gpu);
  const chosen = Number.isInteger(index) ? gpus[index] : gpus.find((g) => g.uuid === gpu);
  if (!chosen) return { args: bind(all), visible: gpu }; // no driver information: the variable alone, as before
  const control = all.filter((d) => !/^\/dev\/nvidia\d+$/.test(d));
  return { args: bind([...control, `/dev/nvidia${chosen.minor}`].filter((d) => all.includes(d))), visible: chosen.uuid };
}

function nvidiaDeviceNames(): string[] {
  try {
    return readdirSync('/dev').filter((name) => name.startsWith('nvidia'));
  } catch {
    return [];
  }
}

function safeNvidiaGpus(): { minor: string; uuid: string }[] {
  try {
    return nvidiaGpus();
  } catch {
    return [];
  }
}

/**
 * Read-only binds for a program and what it runs from: the directory it was found in and the
 * installation it really lives in (a venv's `bin/python` links to an interpreter elsewhere; a
 * pyenv shim or uv's link to its own venv), where these are not system directories already.
 */
export function programBinds(found: string, except: string[] = []): string[] {
  const out = new Set<string>();
  const add = (p: string) => {
    if (!isSystemPath(p) && existsSync(p) && !except.some((e) => p === e || p.startsWith(`${e}/`))) out.add(p);
  };
  add(path.dirname(found));
  // A virtual environment's interpreter needs the environment's own site-packages.
  if (existsSync(path.join(path.dirname(path.dirname(found)), 'pyvenv.cfg'))) add(path.dirname(path.dirname(found)));
  // Every link on the way (set-up's bin/uv links to uv's venv; a link may point at another link).
  let hop = found;
  for (let i = 0; i < 40; i++) {
    let target: string;
    try {
      target = readlinkSync(hop);
    } catch {
      break; // not a link (or gone): the end of the chain
    }
    hop = path.resolve(path.dirname(hop), target);
    add(path.dirname(hop));
  }
  let real = found;
  try {
    real = realpathSync(found);
  } catch {
    // a dangling link: nothing more to bind
  }
  add(path.dirname(path.dirname(real)));
  return [...out].flatMap((p) => ['--ro-bind', p, p]);
}

/** Read-only binds for a worker's Python environment and the interpreter it was made from. */
export function pythonBinds(python: TrainerPython | undefined): string[] {
  if (!python) return [];
  return ['--ro-bind', python.dir, python.dir, ...programBinds(python.python, [python.dir])];
}

/**
 * What both sandboxes start from, in mount order (later mounts cover earlier ones): the system's
 * directories read-only, their own PID namespace and /proc, a minimal /dev and the lane's GPU, no
 * network unless allowed, a private /tmp and an empty private home.
 */
export function baseArgs(env: Record<string, string>, { network, gpu }: { network: boolean; gpu?: string }): { args: string[]; visibleGpu?: string } {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) args.push(...roBindSystem(dir));
  for (const file of ETC_FILES) if (existsSync(path.join('/etc', file))) args.push('--ro-bind', path.join('/etc', file), path.join('/etc', file));
  // A root worker's trainer would keep root's capabilities inside (and could remount the read-only
  // binds writable): it gets none.
  args.push('--cap-drop', 'ALL', '--unshare-pid', '--proc', '/proc', '--dev', '/dev');
  if (!network) args.push('--unshare-net');
  const gpus = gpuPassThrough(gpu);
  args.push(...gpus.args);
  args.push('--tmpfs', '/tmp');
  const home = env.HOME;
  if (home && !isSystemPath(home) && home !== '/tmp') args.push('--tmpfs', home);
  return { args, visibleGpu: gpus.visible };
}
