import type { z } from 'zod';
import { MIN_SECRET_LENGTH, credentialOf, decodedOrAsIs, secretSettingLeaves, urlPasswordOf, type AnyDestinationPlugin } from '@ferry/core';

/**
 * Secrets an attacker would try first. Documented placeholders (`deploy/.env.example`'s
 * `change-me-to-a-long-random-string`, the plugins' `YOUR-PASSCODE`, the docs' elided `Bearer 3f9c…`) are
 * refused everywhere: they were meant to be replaced. The README walkthrough's demo values work on loopback, where the walkthrough runs,
 * and are refused beyond it. Values of too little variety are refused everywhere. No message shows a value.
 */

/**
 * A placeholder the docs tell the operator to replace: any spelling of "change me", a plugin example's
 * `YOUR-PASSCODE`, or an elided example.
 */
const PLACEHOLDER = /change[\s_-]?me|^your[\s_-]|…/i;

/** The README walkthrough's values (its `export` line and fake CleverTap account). */
export const DEMO_SECRETS: readonly string[] = ['demo-admin-token-0123456789', 'demo-webhook-token', 'demo-passcode'];

/** Fewer different characters than this is too little variety, whatever the length. */
export const MIN_DISTINCT_CHARACTERS = 5;

const HOW_TO_GENERATE = 'generate one, e.g. with `openssl rand -hex 24`';

/** Why a secret is refused, or undefined when it is not. `beyondLoopback`: the runner listens beyond loopback. */
export function weakSecretReason(value: string, beyondLoopback: boolean): string | undefined {
  if (PLACEHOLDER.test(value)) return `is a documented placeholder, not a secret: ${HOW_TO_GENERATE}`;
  if (beyondLoopback && DEMO_SECRETS.includes(value)) {
    return `is the README walkthrough's demo value, accepted only while server.host is loopback: ${HOW_TO_GENERATE}`;
  }
  if (value.length >= MIN_SECRET_LENGTH && tooLittleVariety(value)) {
    return `has too little variety (fewer than ${MIN_DISTINCT_CHARACTERS} different characters, a repeated pattern or a plain sequence), so it is easily guessed: ${HOW_TO_GENERATE}`;
  }
  return undefined;
}

function tooLittleVariety(value: string): boolean {
  const characters = [...value];
  if (new Set(characters).size < MIN_DISTINCT_CHARACTERS) return true;
  // A pattern repeated ("abcdeabcdeabcde"): the value repeats itself after at most half its length.
  for (let period = 1; period <= characters.length / 2; period++) {
    if (characters.every((character, i) => i < period || character === characters[i - period])) return true;
  }
  // A plain sequence ("12345678", "abcdefgh", "87654321").
  const steps = characters.slice(1).map((character, i) => character.codePointAt(0)! - characters[i].codePointAt(0)!);
  return steps.every((step) => step === 1) || steps.every((step) => step === -1);
}

/** The parts of a parsed config whose secrets are checked. */
interface WithSecrets {
  readonly server: { readonly host: string; readonly adminToken?: string };
  readonly store: { readonly url: string };
  readonly sources: { readonly revenuecat: { readonly authorization?: string } };
  readonly destinations: readonly { readonly plugin: string; readonly settings: unknown }[];
}

/**
 * The config check of every secret it holds: the admin token, the webhook authorization's credential, each
 * destination's secret settings and the database password (placeholders only: local databases often have
 * simple passwords, and the password is not the runner's to guess).
 */
export function strongSecrets(plugins: readonly AnyDestinationPlugin[], isLoopback: (host: string) => boolean) {
  const secretsOf = new Map(plugins.map((plugin) => [plugin.id, plugin.secrets]));
  return (config: WithSecrets, ctx: z.RefinementCtx): void => {
    const beyondLoopback = !isLoopback(config.server.host);
    const check = (path: PropertyKey[], value: string | undefined, reason = weakSecretReason) => {
      const problem = value ? reason(value, beyondLoopback) : undefined;
      if (problem) ctx.addIssue({ code: 'custom', path, message: problem });
    };
    check(['server', 'adminToken'], config.server.adminToken);
    const authorization = config.sources.revenuecat.authorization;
    check(['sources', 'revenuecat', 'authorization'], authorization && credentialOf(authorization), (value, beyond) => {
      const problem = weakSecretReason(value, beyond);
      return problem && `its credential (after a scheme such as "Bearer ") ${problem}`;
    });
    config.destinations.forEach((destination, index) => {
      for (const key of secretsOf.get(destination.plugin) ?? []) {
        for (const value of secretSettingLeaves(destination.settings, [key])) check(['destinations', index, 'settings', key], value);
      }
    });
    const password = urlPasswordOf(config.store.url);
    check(['store', 'url'], password && decodedOrAsIs(password), (value) =>
      PLACEHOLDER.test(value) ? `its password is a documented placeholder, not a secret: ${HOW_TO_GENERATE}` : undefined,
    );
  };
}
