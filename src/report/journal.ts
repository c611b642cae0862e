/**
 * The report's journal section: every run of the repository the journal holds, with how many
 * proposals each had refused because their code was measured already. Pure.
 */
import { summarizeRuns, type JournalRecord } from '../core/journal.js';
import { escapeHtml, formatBpb } from './html.js';

export function journalSection(records: readonly JournalRecord[], tag: string): string {
  if (records.length === 0) return '';
  const runs = summarizeRuns(records);
  const mine = runs.find((r) => r.tag === tag);
  const rows = runs.map((run) => `<tr${run.tag === tag ? ' class="this-run"' : ''}><td>${escapeHtml(run.tag)}${run.imported ? ' (imported)' : ''}</td>` +
    `<td>${run.experiments}</td><td>${run.counts.keep}</td><td>${run.counts.discard}</td><td>${run.counts.crash}</td><td>${run.counts.invalid}</td>` +
    `<td>${run.best ? `${formatBpb(run.best.valBpb)} (#${run.best.experiment})` : '–'}</td><td>${run.refusals}</td></tr>`).join('\n');
  const refused = mine ? `This run had <strong>${mine.refusals}</strong> proposal${mine.refusals === 1 ? '' : 's'} refused before training: ` +
    'their code had been measured already, by this run or an earlier one.' : 'This run has no record in the journal yet.';
  return `<section id="journal">
<h2>Research journal</h2>
<p>${refused} The journal holds every run below; a run's proposer sees those its <code>memory</code> and <code>memoryFrom</code> allow (<code>npm run research -- journal</code> lists each experiment).</p>
<table>
<thead><tr><th>run</th><th>experiments</th><th>kept</th><th>discarded</th><th>crashed</th><th>invalid</th><th>best val_bpb</th><th>repeats refused</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>`;
}
