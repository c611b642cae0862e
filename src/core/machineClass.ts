/**
 * A lane's machine class: the GPU's name (what the trainer's summary reports as `device_name`), a
 * CPU lane's CPU model, or a label the worker is given. Under a time budget a faster class trains
 * more and scores lower by itself, so the keep rule compares a candidate only with the incumbent's
 * runs on the candidate's class (keepDecision.ts). Runs recorded before classes existed carry none:
 * "no class" is one class of its own, so old runs and histories decide exactly as before. Pure.
 */

/** A run's class; undefined: recorded with none (before classes, or a trainer that names no device). */
export type MachineClass = string | undefined;

/** At most this many characters of a class are kept (a GPU's name is about 25). */
export const MACHINE_CLASS_CHARS = 100;

/** The lane's class: the worker's label when it has one, else the device the trainer named. */
export function machineClassOf(label: string | undefined, deviceName: string | undefined): MachineClass {
  const named = label?.trim() || deviceName?.trim();
  return named ? named.slice(0, MACHINE_CLASS_CHARS) : undefined;
}

/** The runs made on `cls` (no class matches only runs with none). */
export function onClass<T extends { machineClass?: string }>(runs: readonly T[], cls: MachineClass): T[] {
  return runs.filter((r) => r.machineClass === cls);
}

/** Whether any run was made on `cls`. */
export function hasClass(runs: readonly { machineClass?: string }[], cls: MachineClass): boolean {
  return runs.some((r) => r.machineClass === cls);
}

/** A group of runs of one code split by class, in order of first appearance: each class's shift drops out of a pooled σ. */
export function byClass<T extends { machineClass?: string }>(runs: readonly T[]): T[][] {
  const groups = new Map<MachineClass, T[]>();
  for (const r of runs) groups.set(r.machineClass, [...(groups.get(r.machineClass) ?? []), r]);
  return [...groups.values()];
}

/** How a reason names a class: "on NVIDIA H100 80GB HBM3"; nothing for runs with none. */
export function onWords(cls: MachineClass): string {
  return cls === undefined ? '' : ` on ${cls}`;
}
