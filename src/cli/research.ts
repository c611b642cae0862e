import { parseArgs } from 'node:util';
import { connectClient, webUiUrl } from '../temporal/connection.js';
import { renderSummary, runFailure } from './watchView.js';
import { renderOutcome } from './outcome.js';
import { parseResults } from '../core/resultsTsv.js';
import { CliError, formatStatus, isSummary, waitForRun, getResults, getStatus, loadRunInput, sendSignal, setProgram, startRun, steer } from './commands.js';
import { readFile } from 'node:fs/promises';
import { watch } from './watch.js';
import { clean, CLEAN_USAGE, parseCleanArgs, temporalView } from './clean.js';
import { journal, JOURNAL_USAGE, parseJournalArgs } from './journal.js';

const USAGE = `usage: npm run research -- <command> [args]
  start [run.json] [--tag T] [--max-experiments N] [--resume]
                                                      start a run (default input: run.json); --resume continues
                                                      an existing tag's branch instead of refusing it
  status <tag> [--json]                               where the run is
  watch <tag>                                         live view until the run ends (Ctrl-C leaves it running)
  results <tag>                                       the results so far, as JSON
  wait <tag>                                          print progress until the run completes, then its summary
  pause <tag> | resume <tag> | stop <tag>             signals (stop: after the current experiment)
  steer <tag> "<note>"                                a note for the proposer from the next hypothesis on
  set-program <tag> <file>                            replace program.md's direction for the rest of the run
  ${CLEAN_USAGE}
                                                      free the disk of ended runs: lane worktrees and model files
                                                      (never the branch, refs, results or logs); --envs also old
                                                      trainer environments; --older-than e.g. 7d, 12h
  ${JOURNAL_USAGE}
                                                      every experiment of every run on the repository's remote
Server: TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY or a Temporal config profile (default localhost:7233).`;

async function main(argv: string[]): Promise<void> {
  // clean has flags of its own (parsed and checked in clean.ts).
  if (argv[0] === 'clean' && !argv.some((a) => a === '--help' || a === '-h')) {
    await clean(parseCleanArgs(argv.slice(1)), temporalView());
    return;
  }
  if (argv[0] === 'journal') {
    await journal(parseJournalArgs(argv.slice(1)));
    return;
  }
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' }, tag: { type: 'string' }, 'max-experiments': { type: 'string' }, resume: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (!command || values.help) {
    console.log(USAGE);
    return;
  }
  const needTag = () => rest[0] ?? fail(`${command}: which run? give its tag`);
  switch (command) {
    case 'start': {
      const file = rest[0] ?? 'run.json';
      const overrides: Record<string, unknown> = {};
      if (values.tag) overrides.tag = values.tag;
      if (values['max-experiments']) overrides.maxExperiments = Number(values['max-experiments']);
      if (values.resume) overrides.resume = true;
      const { input, config } = await loadRunInput(file, overrides); // validated before anything is started
      const started = await startRun(await connectClient(), config, input);
      console.log(`started run ${started.workflowId} (branch autoresearch/${config.tag}${config.resume ? ', resumed if it exists' : ''})`);
      console.log(`web UI: ${started.url}`);
      return;
    }
    case 'status': {
      const s = await getStatus(await connectClient(), needTag());
      console.log(values.json ? JSON.stringify(s, null, 2) : isSummary(s) ? renderSummary(s) : formatStatus(s));
      return;
    }
    case 'wait': {
      // A run that scored nothing is a failure, and exits non-zero saying why (the quick start stops there).
      const summary = await waitForRun(await connectClient(), needTag());
      const rows = await readFile(summary.resultsFile, 'utf8').then((text) => parseResults(text), () => []);
      console.log(`\n${renderOutcome(summary, rows)}`);
      const failure = runFailure(summary, rows);
      if (failure) fail(failure);
      return;
    }
    case 'watch':
      await watch(await connectClient(), needTag());
      return;
    case 'results':
      console.log(JSON.stringify(await getResults(await connectClient(), needTag()), null, 2));
      return;
    case 'pause':
    case 'resume':
    case 'stop':
      await sendSignal(await connectClient(), needTag(), command);
      console.log(`${command} sent to ${rest[0]}${command === 'stop' ? ' (the current experiment finishes first)' : ''}`);
      return;
    case 'steer': {
      const note = rest.slice(1).join(' ') || fail('steer: give a note');
      const r = await steer(await connectClient(), needTag(), note);
      console.log(`note ${r.notes} accepted; it reaches the proposer from experiment ${r.effectiveFromExperiment}`);
      return;
    }
    case 'set-program': {
      const file = rest[1] ?? fail('set-program: give a file');
      const r = await setProgram(await connectClient(), needTag(), await readFile(file, 'utf8'));
      console.log(`program replaced from experiment ${r.effectiveFromExperiment}`);
      return;
    }
    default:
      fail(`unknown command "${command}"\n${USAGE}`);
  }
}

function fail(message: string): never {
  throw new CliError(message);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    console.error(`\x1b[31mresearch: ${msg}\x1b[0m`);
    if (!(err instanceof CliError) && /connect|UNAVAILABLE|ECONNREFUSED/i.test(msg)) {
      console.error(`is a Temporal server running? start one with: npm run temporal   (web UI ${webUiUrl()})`);
    }
    process.exit(1);
  },
);
