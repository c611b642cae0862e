/**
 * A worker's hypothesize in a process of its own: runs the activity once, as the worker registers
 * it (createActivities), on the input in the JSON file argv[2], and prints its proposal. A test
 * kills one mid-call and starts another, as a worker killed mid-attempt and the next attempt.
 */
import { readFileSync } from 'node:fs';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities/index.js';
import type { HypothesizeInput } from '../../src/api/activities.js';
import type { ProposeResult } from '../../src/core/proposal.js';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8')) as HypothesizeInput;
const attempt = Number(process.argv[3] ?? 1);
const result: ProposeResult = await new MockActivityEnvironment({ attempt, heartbeatTimeoutMs: 10_000 }).run(createActivities().hypothesize, input);
process.stdout.write(`${JSON.stringify(result.proposal)}\n`);
