import type { z } from 'zod';
import { MIN_SECRET_LENGTH, credentialOf, decodedOrAsIs, markedSecrets, stringLeaves, urlPasswordOf } from '@ferry/core';

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

/** A plugin as the check reads it: the schema its settings are marked in. */
interface WithSettingsSchema {
  readonly id: string;
  readonly settings: z.ZodType;
}

/** The parts of a parsed config whose secrets are checked. */
interface WithSecrets {
  readonly server: { readonly host: string; readonly adminToken?: string };
  readonly store: { readonly url: string };
  readonly sources: readonly { readonly plugin: string; readonly settings: unknown; readonly settingsPath: readonly PropertyKey[] }[];
  readonly destinations: readonly { readonly plugin: string; readonly settings: unknown }[];
}

/**
 * The config check of every secret it holds: the admin token, each source's and each destination's settings
 * marked secret in its plugin's schema (an Authorization value by its credential, after the scheme), and the
 * database password (placeholders only: local databases often have simple passwords, and the password is not
 * the runner's to guess).
 */
export function strongSecrets(
  plugins: { readonly sources: readonly WithSettingsSchema[]; readonly destinations: readonly WithSettingsSchema[] },
  isLoopback: (host: string) => boolean,
) {
  // Sources and destinations are looked up apart: a source plugin and a destination plugin may share an id.
  const sourceSettings = new Map(plugins.sources.map((plugin) => [plugin.id, plugin.settings]));
  const destinationSettings = new Map(plugins.destinations.map((plugin) => [plugin.id, plugin.settings]));
  return (config: WithSecrets, ctx: z.RefinementCtx): void => {
    const beyondLoopback = !isLoopback(config.server.host);
    const check = (path: PropertyKey[], value: string | undefined, reason = weakSecretReason) => {
      const problem = value ? reason(value, beyondLoopback) : undefined;
      if (problem) ctx.addIssue({ code: 'custom', path, message: problem });
    };
    /** Every secret the plugin's schema marks in `settings`, each checked by what of it is secret. */
    const checkSettings = (at: readonly PropertyKey[], schema: z.ZodType | undefined, settings: unknown) => {
      if (schema === undefined) return;
      for (const { path, value, parts } of markedSecrets(schema, settings)) {
        for (const text of stringLeaves(value)) {
          if (parts.includes('credential')) check([...at, ...path], credentialOf(text), credentialReason);
          else if (parts.includes('value')) check([...at, ...path], text);
        }
      }
    };
    check(['server', 'adminToken'], config.server.adminToken);
    for (const source of config.sources) checkSettings(source.settingsPath, sourceSettings.get(source.plugin), source.settings);
    config.destinations.forEach((destination, index) =>
      checkSettings(['destinations', index, 'settings'], destinationSettings.get(destination.plugin), destination.settings),
    );
    const password = urlPasswordOf(config.store.url);
    check(['store', 'url'], password && decodedOrAsIs(password), (value) =>
      PLACEHOLDER.test(value) ? `its password is a documented placeholder, not a secret: ${HOW_TO_GENERATE}` : undefined,
    );
  };
}

/** An Authorization value is judged by its credential, the part after the scheme, and its message says so. */
function credentialReason(credential: string, beyondLoopback: boolean): string | undefined {
  const problem = weakSecretReason(credential, beyondLoopback);
  return problem && `its credential (after a scheme such as "Bearer ") ${problem}`;
}
