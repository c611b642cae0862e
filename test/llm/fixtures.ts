import type { ProposerContext } from '../../src/proposers/context.js';
import type { Proposal } from '../../src/core/proposal.js';
import { makeRecord as record } from '../helpers/run.js';

export { record };

/** A fake key: tests assert it never leaves the auth header and never reaches an error. */
export const SECRET_KEY = 'sk-ant-test-SECRET123';

export const TRAIN_PY = `"""Tiny trainer."""
import torch

DEPTH = 8  # transformer layers
LR = 0.02  # matrix learning rate

def main():
    print("---")
    print("val_bpb:          0.997900")
`;

export const GOOD_PROPOSAL: Proposal = {
  hypothesis: 'A higher learning rate converges faster within the fixed budget.',
  description: 'raise LR to 0.03',
  edits: [{ path: 'train.py', search: 'LR = 0.02  # matrix learning rate', replace: 'LR = 0.03  # matrix learning rate' }],
};

export function sampleContext(over: Partial<ProposerContext> = {}): ProposerContext {
  return {
    experiment: 3,
    program: '# Program\nMake val_bpb go down. Try optimizer changes first.',
    files: [{ path: 'train.py', content: TRAIN_PY }],
    recent: [
      record(0, { description: 'baseline' }),
      record(1, { description: 'wider MLP', status: 'discard', valBpb: 1.0031 }),
      record(2, { description: 'deeper model', status: 'crash', valBpb: 0, memoryGb: 0, reason: 'CUDA out of memory' }),
    ],
    experimentsDone: 3,
    best: { experiment: 0, commit: 'c0ffee0', commitFull: 'c0ffee0'.padEnd(40, '0'), valBpb: 1 },
    lastCrashLog: 'step 10\nTraceback (most recent call last):\ntorch.OutOfMemoryError: CUDA out of memory',
    steeringNotes: ['Avoid changing DEPTH for now.'],
    ...over,
  };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}
