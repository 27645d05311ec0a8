// What may be done to a version's aliases in the UI (pure; tested). `latest` is the server's: it is
// shown, but never added, removed or sent; an alias given to this version moves from the one that had it.

export const LATEST = "latest";

/** An alias is written `name:alias`, so it follows the name's rule (docs/artifacts.md); one that looks
 *  like a version ("v3", "3") or is "versions" (the listing's path) would read as something else. The
 *  server checks the same (its alias_problem); checked here too so the field can say why at once. */
const ALIAS = /^[A-Za-z0-9_.-]{1,128}$/;
const VERSION_LIKE = /^v?[0-9]+$/;
const RESERVED = ["versions"];

/** Whether the user may remove this alias here. */
export function removable(alias: string): boolean {
  return alias !== LATEST;
}

/** Why `alias` cannot be added to `aliases` (null: it can). */
export function aliasProblem(alias: string, aliases: readonly string[]): string | null {
  if (alias === "") return "An alias cannot be empty.";
  if (alias === LATEST) return "“latest” is set by the server: it is always the newest version.";
  if (!ALIAS.test(alias)) return "Use letters, digits, “-”, “_” and “.” only (at most 128).";
  if (VERSION_LIKE.test(alias) || RESERVED.includes(alias)) return `“${alias}” would read as a version.`;
  if (aliases.includes(alias)) return `This version is already “${alias}”.`;
  return null;
}

/** The aliases to send after adding one: the user's own (not `latest`), in order. */
export function withAlias(aliases: readonly string[], alias: string): string[] {
  return [...aliasesToSend(aliases).filter((a) => a !== alias), alias];
}

/** The aliases to send after removing one. */
export function withoutAlias(aliases: readonly string[], alias: string): string[] {
  return aliasesToSend(aliases).filter((a) => a !== alias);
}

/** `latest` first (when the version has it), then the others in the order the server gave them. */
export function shownAliases(aliases: readonly string[]): string[] {
  return aliases.includes(LATEST) ? [LATEST, ...aliasesToSend(aliases)] : aliasesToSend(aliases);
}

function aliasesToSend(aliases: readonly string[]): string[] {
  return aliases.filter((a) => a !== LATEST);
}
