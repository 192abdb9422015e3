// Finding a package's files without its "exports" map's permission: some SDKs export
// neither their package.json nor their browser bundles, which a page loads by path anyway.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/** The folder of an installed package: walk up from its main entry to its package.json. */
export function packageRoot(name) {
  let folder = dirname(require.resolve(name));
  for (;;) {
    const manifest = join(folder, "package.json");
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === name) return folder;
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`cannot find the package.json of ${name}`);
    folder = parent;
  }
}

/** The installed version of a package. */
export function packageVersion(name) {
  return JSON.parse(readFileSync(join(packageRoot(name), "package.json"), "utf8")).version;
}

/** A file of a package by "<package>/<path inside it>", whatever its exports map says. */
export function packageFile(path) {
  const parts = path.split("/");
  const name = path.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  return join(packageRoot(name), path.slice(name.length + 1));
}
