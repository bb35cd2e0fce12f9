// browser.mjs - Debian's Chromium, headless, for the tests that need a real browser.
// Owns the profile folder of each browser it starts; never downloads a browser of its own.

import fs from 'node:fs';
import { tempDir } from './gateway.mjs';

export const CHROMIUM = process.env.OUTPOST_CHROMIUM || '/usr/bin/chromium';
// Without the background-networking flags Chromium tries hosts outside 127.0.0.1 at start.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/** A `skip` value for node:test: false when Chromium is installed, else why `what` cannot run. */
export function chromiumSkip(what) {
  return fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: install Debian's chromium package (tools/test does) to run ${what}`;
}

/** Starts Chromium on a new empty profile: { context, page, close() } (close also removes the profile). */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const profile = tempDir('outpost-chromium-');
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30000 });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
