import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CliError, describeConfig, loadRunInput } from '../../src/cli/commands.js';

async function file(text: string): Promise<string> {
  const f = path.join(await mkdtemp(path.join(os.tmpdir(), 'ar-cli-')), 'run.json');
  await writeFile(f, text);
  return f;
}

describe('loadRunInput (the CLI validates before it starts anything)', () => {
  test('returns the input as written, with overrides, and its parsed config', async () => {
    const { input, config } = await loadRunInput(await file('{"tag":"a","maxExperiments":3}'), { tag: 'b' });
    expect(input).toEqual({ tag: 'b', maxExperiments: 3 });
    expect(config.trainer.command).toBe('uv run train.py');
  });
  test('names the invalid and the unknown field', async () => {
    const f = await file('{"tag":"x","trainer":{"timeBudgetSeconds":"a"},"foo":1}');
    await expect(loadRunInput(f)).rejects.toThrow(CliError);
    await expect(loadRunInput(f)).rejects.toThrow(/trainer\.timeBudgetSeconds.*foo: unknown field/);
  });
  test('says which file it could not read or parse', async () => {
    await expect(loadRunInput('/nonexistent/run.json')).rejects.toThrow(/cannot read run input \/nonexistent\/run.json/);
    await expect(loadRunInput(await file('{not json'))).rejects.toThrow(/cannot read run input/);
  });
});

test('the run details for the web UI list the settings as a markdown table', async () => {
  const { config } = await loadRunInput(await file('{"tag":"n1","proposer":{"kind":"claude","maxCostUsd":5}}'));
  const md = describeConfig(config);
  expect(md).toContain('| proposer | claude |');
  expect(md).toContain('| cost cap | $5 |');
  expect(md).toContain('| time budget | 300 s (timeout');
  const tokens = await loadRunInput(await file('{"tag":"n2","trainer":{"timeBudgetSeconds":30,"tokenBudget":163840}}'));
  expect(describeConfig(tokens.config)).toContain('| token budget | 163,840 tokens (timeout');
});
