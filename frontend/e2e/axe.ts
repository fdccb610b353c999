import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';

/** wcagTags are the axe rule sets of WCAG 2.1 level A and AA, which the UI promises to meet. */
export const wcagTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** AxeFinding is one broken rule, in the few words a failing test needs to print. */
export interface AxeFinding {
  rule: string;
  impact: string | null | undefined;
  help: string;
  nodes: { target: string; summary: string }[];
}

/**
 * settle waits until no CSS transition or animation runs (Mantine fades
 * dialogs and menus in): axe judges colours as painted, and a half-faded
 * dialog would fail contrast only because of the moment it was audited.
 */
export async function settle(page: Page): Promise<void> {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'));
}

/** auditPage runs axe-core's WCAG 2.1 A/AA rules on the page as it is now and returns what fails. */
export async function auditPage(page: Page, include?: string): Promise<AxeFinding[]> {
  await settle(page);
  let builder = new AxeBuilder({ page }).withTags(wcagTags);
  if (include !== undefined) {
    builder = builder.include(include);
  }
  const results = await builder.analyze();
  return results.violations.map((v) => ({
    rule: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary ?? '' })),
  }));
}

/**
 * expectAccessible fails the test when axe finds any WCAG 2.1 A/AA violation,
 * printing each broken rule with the elements and why (the diff against []).
 */
export async function expectAccessible(page: Page, what: string, include?: string): Promise<void> {
  const findings = await auditPage(page, include);
  expect(findings, `axe WCAG 2.1 A/AA violations on ${what}`).toEqual([]);
}
