// A real headless Chromium for the UI tests: Debian's /usr/bin/chromium driven by playwright-core
// (no browser download), with a fresh profile and nothing reaching out to the network.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.TRIBUNE_CHROMIUM ?? '/usr/bin/chromium';

export interface TestBrowser {
  browser: BrowserContext;
  /** Where this run's screenshots go. */
  shots: string;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`the UI tests need Chromium at ${CHROMIUM}: install it with 'apt-get update && apt-get install -y chromium' (bash .ci/run does), or point TRIBUNE_CHROMIUM at one`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tribune-chromium-'));
  const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'tribune-ui-shots-'));
  // launchPersistentContext takes the profile directory itself (a --user-data-dir flag is refused).
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 800 },
  });
  return {
    browser,
    shots,
    close: async () => {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export type { Browser };
