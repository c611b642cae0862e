/** A worker that starts ends the trainers a dead worker left on its lanes, and nothing else. */
import { execa } from 'execa';
import { endOrphanTrainers } from '../../src/activities/trainerProcess.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('orphan trainers', () => {
  test('a trainer on one of the lanes whose worker is gone is ended; a live worker\'s and another lane\'s are not', async () => {
    const lane = `orphan-lane-${process.pid}-${Date.now()}`;
    const done = execa('true');
    const gone = done.pid!; // a worker pid that no longer runs
    await done;
    const start = (env: Record<string, string>) => {
      const child = execa('sleep', ['60'], { detached: true, env, stdio: 'ignore', reject: false });
      child.catch(() => undefined);
      return child;
    };
    const orphan = start({ AUTORESEARCH_LANE: lane, AUTORESEARCH_WORKER_PID: String(gone) });
    const owned = start({ AUTORESEARCH_LANE: lane, AUTORESEARCH_WORKER_PID: String(process.pid) });
    const otherLane = start({ AUTORESEARCH_LANE: `${lane}-other`, AUTORESEARCH_WORKER_PID: String(gone) });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const ended = await endOrphanTrainers([lane]);
      expect(ended).toEqual([orphan.pid]);
      await orphan;
      expect(alive(orphan.pid!)).toBe(false);
      expect([alive(owned.pid!), alive(otherLane.pid!)]).toEqual([true, true]);
    } finally {
      for (const c of [orphan, owned, otherLane]) c.kill('SIGKILL');
    }
  });
});
