/** Headless Chromium (Debian's package, driven by playwright-core) for the chart PNG and the tests. */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';

/** No network, no GPU, no profile state: the report is self-contained and runs on bare CI hosts. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Bounds every browser step, so a wedged Chromium fails instead of hanging. */
export const BROWSER_TIMEOUT_MS = 30_000;

export const INSTALL_HINT = 'install it with `bash scripts/install-debian-package.sh chromium chromium` or set CHROMIUM_PATH';

/** Chromium or playwright-core is not there; the caller decides whether that is fatal. */
export class ChromiumMissingError extends Error {
  constructor(what: string) {
    super(`${what}; ${INSTALL_HINT}`);
    this.name = 'ChromiumMissingError';
  }
}

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium';
}

/** Launches with a fresh temporary profile (playwright's default for `launch`). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) throw new ChromiumMissingError(`Chromium not found at ${executablePath}`);
  let playwright: typeof import('playwright-core');
  try {
    playwright = await import('playwright-core');
  } catch {
    throw new ChromiumMissingError('playwright-core is not installed (npm install)');
  }
  return playwright.chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true, timeout: BROWSER_TIMEOUT_MS });
}

/** Opens the written report and saves its chart (`#chart svg`) as a PNG at twice the CSS size. */
export async function screenshotChart(htmlPath: string, pngPath: string): Promise<void> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ deviceScaleFactor: 2 });
    await page.goto(pathToFileURL(htmlPath).href, { timeout: BROWSER_TIMEOUT_MS });
    await page.locator('#chart svg').screenshot({ path: pngPath, timeout: BROWSER_TIMEOUT_MS });
  } finally {
    await browser.close();
  }
}
