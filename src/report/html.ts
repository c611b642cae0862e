/** Text helpers shared by the chart and the page. */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** val_bpb as results.tsv writes it: six decimals. */
export function formatBpb(value: number): string {
  return value.toFixed(6);
}

/** A signed difference, with a real minus sign: "+0.001200", "−0.004700". */
export function formatDelta(value: number, decimals = 6): string {
  return `${value > 0 ? '+' : value < 0 ? '−' : '±'}${Math.abs(value).toFixed(decimals)}`;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
