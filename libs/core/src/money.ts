import { z } from 'zod';
import type { SubscriptionEvent } from './event';

export interface Money {
  readonly amount: number;
  readonly currency: string;
}

/** RevenueCat's three sales-reporting options, shared by every revenue-carrying integration. */
export const SalesReporting = z.enum(['gross', 'after_store_commission', 'after_store_commission_and_taxes']);
export type SalesReporting = z.infer<typeof SalesReporting>;

/**
 * Answers per currency code: building an Intl.NumberFormat costs tens of µs, on every delivery. Only
 * upper-case three-letter codes are kept (at most 26³), so a webhook's arbitrary currency string cannot
 * grow the map without bound.
 */
const minorUnitDigitsByCode = new Map<string, number>();

/** Digits after the decimal point in a currency's minor unit (2 for EUR, 0 for JPY, 3 for KWD). */
export function minorUnitDigits(currency: string): number {
  const known = minorUnitDigitsByCode.get(currency);
  if (known !== undefined) return known;
  let digits: number;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    digits = 2; // an unknown code still gets cents rather than an error
  }
  if (/^[A-Z]{3}$/.test(currency)) minorUnitDigitsByCode.set(currency, digits);
  return digits;
}

/**
 * Largest price a webhook may carry, in any currency; a source refuses larger ones. Far above any real
 * price, and low enough that every revenue computed from it (see `MAX_PERCENTAGE`) stays finite and exact
 * to the minor unit, so no destination is ever sent a null or infinite amount.
 */
export const MAX_PRICE = 1e12;

/** Largest tax or commission share a webhook may carry (RevenueCat sends fractions, 0.3 for 30 %). */
export const MAX_PERCENTAGE = 100;

/** Rounds half away from zero at the currency's minor unit, avoiding binary artefacts (1.005 → 1.01). */
export function roundToMinorUnit(amount: number, currency: string): number {
  const digits = minorUnitDigits(currency);
  // Shifting the decimal exponent of the shortest text is exact; tiny and huge numbers print as `1e-7`, `1e+21`.
  const [mantissa, exponent = '0'] = String(Math.abs(amount)).split('e');
  const rounded = Number(Math.sign(amount) * Math.round(Number(`${mantissa}e${Number(exponent) + digits}`))) / 10 ** digits;
  return Object.is(rounded, -0) ? 0 : rounded;
}

export type PriceBasis = 'purchased_currency' | 'usd';

/**
 * Revenue after the chosen sales-reporting option. `purchased_currency` uses the purchase price and
 * currency, falling back to the USD price; `usd` always uses the USD price. Missing prices count as 0,
 * missing percentages as 0. Negative results (refunds) are kept: plugins that cannot take them clamp.
 */
export function salesRevenue(event: SubscriptionEvent, reporting: SalesReporting, basis: PriceBasis = 'purchased_currency'): Money {
  let price: number;
  let currency: string;
  if (basis === 'purchased_currency' && event.priceInPurchasedCurrency !== null && event.currency) {
    price = event.priceInPurchasedCurrency;
    currency = event.currency.toUpperCase();
  } else {
    price = event.priceUsd ?? 0;
    currency = 'USD';
  }
  const commission = event.commissionPercentage ?? 0;
  const tax = event.taxPercentage ?? 0;
  const share = reporting === 'gross' ? 1 : reporting === 'after_store_commission' ? 1 - commission : 1 - commission - tax;
  return { amount: roundToMinorUnit(price * share, currency), currency };
}
