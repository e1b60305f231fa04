/** Argument parsers for commander options: numbers with clear errors. */

import { InvalidArgumentError } from "commander";

/** An integer in decimal or 0x-hex, within [min, max]. */
export function integerOption(name: string, min: number, max: number): (value: string) => number {
  return (value: string): number => {
    const n = /^0x[0-9a-f]+$/i.test(value)
      ? Number.parseInt(value, 16)
      : /^\d+$/.test(value)
        ? Number(value)
        : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `${name} must be an integer from ${min} to ${max} (decimal or 0x hex), got "${value}"`,
      );
    }
    return n;
  };
}

/** A repeatable integer option: collects values. */
export function repeatableInteger(name: string, min: number, max: number) {
  const parse = integerOption(name, min, max);
  return (value: string, previous: number[] = []): number[] => [...previous, parse(value)];
}

/** A positive finite number (e.g. seconds or a fraction). */
export function numberOption(name: string, min: number, max: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}
