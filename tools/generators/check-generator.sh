#!/usr/bin/env bash
# The generators' output must pass out of the box. In a scratch copy of this working tree, generate a
# destination and a source, link the workspace packages (what `npm install` would do, without a registry),
# then build, lint, typecheck and test the new projects (the source's spec runs the source contract suite),
# and build the runner they were registered with and check that it offers both (its config schema names
# the destination plugin; its registry lists the source plugin).
# Usage: bash tools/generators/check-generator.sh [destination-name] [source-name]   (default: acme acme-hooks)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
name="${1:-acme}"
source_name="${2:-acme-hooks}"
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false

scratch="$(mktemp -d "${TMPDIR:-/tmp}/ferry-generator.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# The files git knows (tracked and untracked, not ignored), as they are in the working tree: this leaves
# out node_modules, dist and caches. Files deleted but not yet staged are skipped.
(
  cd "$repo"
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done |
    tar --null -T - -cf -
) | tar -C "$scratch" -xf -

# Installed packages are shared with the repository; our own are linked to the scratch copy's folders.
mkdir "$scratch/node_modules"
for entry in "$repo"/node_modules/* "$repo"/node_modules/.bin; do
  [ "$(basename "$entry")" = "@ferry" ] || ln -s "$entry" "$scratch/node_modules/"
done
link_workspaces() {
  node -e '
    const fs = require("node:fs");
    const path = require("node:path");
    const root = process.argv[1];
    for (const pattern of require(path.join(root, "package.json")).workspaces) {
      if (!pattern.endsWith("/*")) throw new Error(`workspace pattern ${pattern}: only "folder/*" is supported`);
      const parent = path.join(root, pattern.slice(0, -2));
      for (const folder of fs.existsSync(parent) ? fs.readdirSync(parent) : []) {
        const manifest = path.join(parent, folder, "package.json");
        if (!fs.existsSync(manifest)) continue;
        const link = path.join(root, "node_modules", JSON.parse(fs.readFileSync(manifest, "utf8")).name);
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.rmSync(link, { force: true });
        fs.symlinkSync(path.join(parent, folder), link);
      }
    }' "$scratch"
}
link_workspaces

cd "$scratch"
npx nx g @ferry/tools:destination "$name" --no-interactive
npx nx g @ferry/tools:source "$source_name" --no-interactive
link_workspaces # the new packages, as `npm install` would after generating
npx prettier --check "libs/destinations/$name" "libs/sources/$source_name" apps/runner # the formatting `npm test` checks first
npx nx run-many -t build lint typecheck test -p "$name" "$source_name" --output-style=static
npx nx run runner:build --output-style=static
schema="$(node apps/runner/dist/cli-main.js config schema)"
if ! grep -q "\"const\": \"$name\"" <<<"$schema"; then
  echo "check-generator: the runner built, but its config schema offers no plugin \"$name\"" >&2
  exit 1
fi
if ! node -e '
  const ids = require("./apps/runner/dist/plugins").sourcePlugins.map((plugin) => plugin.id);
  if (!ids.includes(process.argv[1])) {
    console.error(`check-generator: the runner built, but its registry lists the sources ${ids.join(", ")}, not ${process.argv[1]}`);
    process.exit(1);
  }' "$source_name"; then
  exit 1
fi
echo "check-generator: the generated destination \"$name\" and source \"$source_name\" are formatted, build, lint, typecheck, pass their tests (the contract suites) and are offered by the runner"
